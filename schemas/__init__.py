"""Event contracts of the bus: pydantic v2 models, the envelope, the codec, generated documents."""
