"""The torch-free spec layer: joint sets and maps (`spec.joints`, `spec.joint_maps`), named frame
conversions (`spec.frames`), wire message types (`spec.messages`) and shared parameter types
(`spec.params`). Nodes, clients and the runtime import it cheaply; it imports only numpy and core."""
