"""Text generation: the engine interface and its llama.cpp backend (KV cache reuse, stops, token
streaming). Finding and checking model files is `app.models`.

Nothing outside this package (and the model probe's child process) imports `llama_cpp`; the TUI
and CLI talk to `Engine`.
"""
