"""Local sandbox: the module running against a local AWS emulator."""
