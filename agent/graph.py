"""The investigation graph: screen → render → similar → classify → ground → cite → policy →
verdict."""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.context import Context
from agent.nodes import (
    apply_risk_policy,
    check_grounding,
    cite_evidence,
    classify_case,
    finalize_verdict,
    render_case,
    request_approval,
    retrieve_similar_cases,
    route_after_apply_risk_policy,
    route_after_check_grounding,
    screen_sequence,
)
from agent.state import InputState, OutputState, State

CHECKPOINTED_TYPES: list[tuple[str, ...]] = [
    ("detectors.sequences", "Sequence"),
    ("detectors.events", "Event"),
    ("detectors.scores", "SequenceScore"),
    ("detectors.scores", "EventSurprise"),
    ("agent.render.case", "RenderedCase"),
    ("agent.linked_accounts", "LinkedAccounts"),
    ("agent.state", "SimilarCaseRef"),
    ("agent.verdict", "ModelAnswer"),
    ("agent.verdict", "Verdict"),
]
"""The only classes a checkpoint may rebuild (the serializer refuses anything else)."""


def checkpoint_serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINTED_TYPES)


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[State, Context, InputState, OutputState]:
    builder = StateGraph(
        State, context_schema=Context, input_schema=InputState, output_schema=OutputState
    )
    builder.add_node(screen_sequence)
    builder.add_node(render_case)
    builder.add_node(retrieve_similar_cases)
    builder.add_node(classify_case)
    builder.add_node(check_grounding)
    builder.add_node(cite_evidence)
    builder.add_node(apply_risk_policy)
    builder.add_node(request_approval)
    builder.add_node(finalize_verdict)

    builder.add_edge(START, "screen_sequence")
    builder.add_edge("screen_sequence", "render_case")
    builder.add_edge("render_case", "retrieve_similar_cases")
    builder.add_edge("retrieve_similar_cases", "classify_case")
    builder.add_edge("classify_case", "check_grounding")
    builder.add_conditional_edges("check_grounding", route_after_check_grounding)
    builder.add_edge("cite_evidence", "apply_risk_policy")
    builder.add_conditional_edges("apply_risk_policy", route_after_apply_risk_policy)
    builder.add_edge("request_approval", "finalize_verdict")
    builder.add_edge("finalize_verdict", END)
    return builder.compile(checkpointer=checkpointer, name="investigate_case")
