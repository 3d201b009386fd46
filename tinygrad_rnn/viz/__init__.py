"""Looking inside training: how the gradient of the loss reaches each time step (BPTT)."""
from .gradients import hidden_gradient_norms, plot_gradient_norms

__all__ = ["hidden_gradient_norms", "plot_gradient_norms"]
