"""The IDX web app under `/app`: server-rendered screens over the public API, for people rather than systems."""
