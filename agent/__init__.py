"""fraudlens reasoning half: renderer, LLM client, LangGraph agent, risk policy, API, CLI."""
