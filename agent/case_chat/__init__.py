"""The analyst's case chat: a LangGraph agent with tools over one case."""
