"""The service under every door (the chat page, REST, the OpenAI-compatible chat, MCP): the collections a
server holds (collections.py), what a question comes with (options.py), uploads (uploads.py), API keys
(keys.py), and :class:`~assistant.service.service.CollectionService`, the one object the doors call."""
