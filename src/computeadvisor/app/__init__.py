"""The driving side: composition root, services, the Litestar app, the CLI."""
