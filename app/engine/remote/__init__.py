"""Inference servers as engines: llama.cpp's `llama-server` and OpenAI-compatible servers.

`app.models.remotes` keeps what the user added (`loreweaver models add-remote`), `http` and
`sse` speak to the server, `api` holds the protocols' shape and llama-server's, `openai` the
OpenAI-compatible ones, `engine` the `Engine` over them, `resolve` a remote model's `ModelInfo`,
and `parallel` runs independent requests side by side. Nothing here runs unless a remote model
is chosen: the default install stays offline.
"""

from __future__ import annotations
