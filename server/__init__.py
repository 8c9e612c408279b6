"""ledgersync server: persistence, Xero, services and the composition root (`server.app.create_app`)."""
