"""Business functions defined only in the test suite, loaded by `idx serve --plugin module:attribute`."""
