"""Integrations with other libraries: TensorBoard, Gym."""
