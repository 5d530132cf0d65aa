"""The RL transfer methods, one file each (:data:`headstart.rl.registry.METHODS`)."""
