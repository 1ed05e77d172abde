"""HTTP side of the one-stop-shop integration: the inbound status API
(`integration.api`). The domain logic is in `dossiers.inbound`."""
