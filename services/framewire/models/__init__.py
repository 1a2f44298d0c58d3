"""Models: the zoo, output decoders, the OpenVINO engine, the model-server protocol."""
