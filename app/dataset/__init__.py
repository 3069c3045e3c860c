"""Fine-tuning data from play: a character's curated chats as training examples.

`examples` reads each chat's active path with the persona the app sends for it, `shapes` turns
an example into one JSON line of a fine-tuning tool's format (and checks it against that
format's rules), and `build` dedupes, splits and writes the files with their manifest.
"""
