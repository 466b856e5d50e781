"""The local LLM: registry weights, conversion, the vLLM server, the OpenAI-compatible client."""
