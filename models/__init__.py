"""Torch definitions of the SqueezeNet family, the design space, datasets, training and analytic cost."""
