"""The choices behind one vLLM server start (dtype, compute cores, step bound, step timeout),
made from settings and the machine, printed once and turned into arguments and environment."""

from __future__ import annotations

from dataclasses import dataclass

from agent.llm.cpu import Machine
from agent.settings import Settings


@dataclass(frozen=True, slots=True)
class LaunchPlan:
    """How the server for one model is started; `describe()` is the line printed at start."""

    model: str
    device: str
    """`cuda` or `cpu`."""
    dtype: str
    compute_cores: tuple[int, ...]
    """CPU cores the model's threads are bound to (empty on CUDA)."""
    reserved_front_end_core: bool
    """vLLM's own binding, which keeps one core for its front end (large CPUs only)."""
    max_num_batched_tokens: int
    step_timeout_s: int
    kv_cache_gib: float

    def server_args(self) -> list[str]:
        """vLLM arguments that follow from the plan."""
        return [
            "--dtype", self.dtype,
            # Chunked prefill bounds every engine step, so one long prompt (or several prefilled
            # together) cannot run past the step timeout and kill the engine.
            "--enable-chunked-prefill",
            "--max-num-batched-tokens", str(self.max_num_batched_tokens),
            # Every verdict prompt starts with the same instructions: served from the cache.
            "--enable-prefix-caching",
            "--kv-cache-memory-bytes", str(int(self.kv_cache_gib * 2**30)),
        ]  # fmt: skip

    def server_env(self) -> dict[str, str]:
        """Environment variables for the vLLM process."""
        env = {"VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS": str(self.step_timeout_s)}
        if self.device == "cpu":
            env["OMP_NUM_THREADS"] = str(len(self.compute_cores))
            if not self.reserved_front_end_core:
                env["VLLM_CPU_OMP_THREADS_BIND"] = core_list(self.compute_cores)
        return env

    def describe(self) -> str:
        """e.g. `qwen2.5-1.5b, float32, 2 cores (0-1), steps ≤ 1024 tokens, step timeout 900 s,
        KV cache 2 GiB`."""
        if self.device == "cuda":
            where = "cuda"
        elif self.reserved_front_end_core:
            where = f"{len(self.compute_cores)} cores, one kept for vLLM's front end"
        else:
            where = f"{len(self.compute_cores)} cores ({core_list(self.compute_cores)})"
        return (
            f"{self.model}, {self.dtype}, {where}, steps ≤ {self.max_num_batched_tokens} tokens, "
            f"step timeout {self.step_timeout_s} s, KV cache {self.kv_cache_gib:g} GiB"
        )


STEP_TOKENS = {"cpu": 256, "cuda": 2048}
"""Default bound on one engine step's tokens (see Settings.llm_max_num_batched_tokens)."""


def plan_launch(settings: Settings, model: str, machine: Machine) -> LaunchPlan:
    """The start for `model` on `machine`, each choice from a setting or, on `auto`, from the
    machine: bf16 only with hardware bf16 (or CUDA), every core on small CPUs."""
    device = "cuda" if machine.cuda else "cpu"
    dtype = settings.llm_dtype
    if dtype == "auto":
        dtype = "bfloat16" if machine.cuda or machine.native_bf16 else "float32"
    reserve = device == "cpu" and len(machine.cores) >= settings.llm_cpu_reserve_from_cores
    return LaunchPlan(
        model=model,
        device=device,
        dtype=dtype,
        compute_cores=() if device == "cuda" else machine.cores,
        reserved_front_end_core=reserve,
        max_num_batched_tokens=settings.llm_max_num_batched_tokens or STEP_TOKENS[device],
        step_timeout_s=settings.llm_step_timeout_s,
        kv_cache_gib=settings.llm_kv_cache_gib,
    )


def core_list(cores: tuple[int, ...]) -> str:
    """`0-3` for a contiguous run, else `0,2,5` (the form VLLM_CPU_OMP_THREADS_BIND reads)."""
    if cores and list(cores) == list(range(cores[0], cores[-1] + 1)) and len(cores) > 1:
        return f"{cores[0]}-{cores[-1]}"
    return ",".join(map(str, cores))
