"""Inference servers as engines: llama.cpp's `llama-server` and OpenAI-compatible servers.

`config` keeps what the user added (`loreweaver models add-remote`), `http` and `sse` speak to
the server, `api` holds the two wire protocols, `engine` the `Engine` over them, and `parallel`
runs independent requests side by side. Nothing here runs unless a remote model is chosen:
the default install stays offline.
"""

from __future__ import annotations
