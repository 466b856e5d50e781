"""The vLLM server start chosen from the machine: dtype, compute cores, step bound (faked CPUs)."""

from __future__ import annotations

import pytest

from agent.llm.cpu import Machine
from agent.llm.launch import core_list, plan_launch
from agent.settings import Settings

AVX2_2_CORES = Machine(cores=(0, 1), native_bf16=False, cuda=False, cpu_name="AMD EPYC")
AVX512_BF16_2_CORES = Machine(cores=(0, 1), native_bf16=True, cuda=False, cpu_name="AMD EPYC")
AVX2_16_CORES = Machine(cores=tuple(range(16)), native_bf16=False, cuda=False, cpu_name="x")
CUDA = Machine(cores=(0, 1, 2, 3), native_bf16=False, cuda=True, cpu_name="x")


def test_cpu_without_native_bf16_runs_float32() -> None:
    plan = plan_launch(Settings(), "qwen2.5-1.5b", AVX2_2_CORES)
    assert plan.dtype == "float32"
    assert plan.server_args()[plan.server_args().index("--dtype") + 1] == "float32"


@pytest.mark.parametrize("machine", [AVX512_BF16_2_CORES, CUDA])
def test_native_bf16_or_cuda_runs_bfloat16(machine: Machine) -> None:
    assert plan_launch(Settings(), "m", machine).dtype == "bfloat16"


def test_a_dtype_setting_wins_over_the_machine() -> None:
    plan = plan_launch(Settings(llm_dtype="bfloat16"), "m", AVX2_2_CORES)
    assert plan.dtype == "bfloat16"


def test_small_cpu_binds_the_model_to_every_core() -> None:
    plan = plan_launch(Settings(), "m", AVX2_2_CORES)
    env = plan.server_env()
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1"
    assert env["OMP_NUM_THREADS"] == "2"
    assert "2 cores (0-1)" in plan.describe()


def test_large_cpu_keeps_vllms_own_binding_with_a_front_end_core() -> None:
    plan = plan_launch(Settings(), "m", AVX2_16_CORES)
    assert "VLLM_CPU_OMP_THREADS_BIND" not in plan.server_env()
    assert plan.reserved_front_end_core


def test_cuda_sets_no_cpu_threads() -> None:
    env = plan_launch(Settings(), "m", CUDA).server_env()
    assert "OMP_NUM_THREADS" not in env and "VLLM_CPU_OMP_THREADS_BIND" not in env


def test_every_step_is_bounded_and_the_step_timeout_raised_to_match() -> None:
    settings = Settings(llm_max_num_batched_tokens=768, llm_step_timeout_s=1234)
    plan = plan_launch(settings, "m", AVX2_2_CORES)
    args = plan.server_args()
    assert "--enable-chunked-prefill" in args and "--enable-prefix-caching" in args
    assert args[args.index("--max-num-batched-tokens") + 1] == "768"
    assert plan.server_env()["VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS"] == "1234"


def test_steps_are_short_on_a_cpu_and_long_on_cuda_unless_set() -> None:
    def step_tokens(settings: Settings, machine: Machine) -> int:
        return plan_launch(settings, "m", machine).max_num_batched_tokens

    assert step_tokens(Settings(), AVX2_2_CORES) == 256
    assert step_tokens(Settings(), CUDA) == 2048
    assert step_tokens(Settings(llm_max_num_batched_tokens=512), CUDA) == 512


def test_the_start_line_names_every_choice() -> None:
    line = plan_launch(Settings(llm_kv_cache_gib=2), "qwen2.5-1.5b", AVX2_2_CORES).describe()
    assert line == (
        "qwen2.5-1.5b, float32, 2 cores (0-1), steps ≤ 256 tokens, step timeout 900 s, "
        "KV cache 2 GiB"
    )


@pytest.mark.parametrize(
    ("cores", "expected"), [((0, 1), "0-1"), ((3,), "3"), ((0, 2, 5), "0,2,5"), ((4, 5, 6), "4-6")]
)
def test_core_list_in_vllms_form(cores: tuple[int, ...], expected: str) -> None:
    assert core_list(cores) == expected
