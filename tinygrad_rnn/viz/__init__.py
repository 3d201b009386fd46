"""Looking inside training: how the gradient of the loss reaches each time step (BPTT), and what
individual hidden units respond to, and the recorded graph itself (the unrolled loop, its shared weights)."""
from .gradients import hidden_gradient_norms, plot_gradient_norms
from .graph import Graph, GraphNode, draw_graph, graph_of, to_dot
from .units import (TOKEN_CLASSES, hidden_states, plot_unit_text, string_literal_mask, token_class_labels, top_units,
                    unit_label_correlation)

__all__ = ["hidden_gradient_norms", "plot_gradient_norms", "hidden_states", "plot_unit_text",
           "string_literal_mask", "token_class_labels", "TOKEN_CLASSES", "top_units", "unit_label_correlation",
           "graph_of", "to_dot", "draw_graph", "Graph", "GraphNode"]
