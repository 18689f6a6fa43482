"""Packaged config presets (YAML); load them by name with vjepa.config.load_config."""
