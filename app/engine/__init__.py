"""Text generation: the engine interface, its llama.cpp backend, GGUF files and the model registry.

Nothing outside this package imports `llama_cpp`; the TUI and CLI talk to `Engine`.
"""
