"""Layer types beyond dense ones (issue 19): their numerical core, one interface.

See ``base.py`` for the interface and docs/layers.md for the design, the cache of each
type, the keys and what remains to wire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backprop_cli.engine.layers.base import (
    Activate,
    LayerType,
    backward_stack,
    forward_stack,
    stack_shapes,
)
from backprop_cli.engine.layers.conv import Conv, conv1d, conv2d
from backprop_cli.engine.layers.dense import Dense
from backprop_cli.engine.layers.dropout import Dropout
from backprop_cli.engine.layers.flatten import Flatten
from backprop_cli.engine.layers.pool import Pool, avgpool1d, avgpool2d, maxpool1d, maxpool2d
from backprop_cli.engine.layers.rnn import Bptt, Rnn, sequence_loss

if TYPE_CHECKING:  # every layer type implements the interface (checked by mypy)
    import numpy as np

    from backprop_cli.engine.layers.base import ActivateCache
    from backprop_cli.engine.layers.conv import ConvCache
    from backprop_cli.engine.layers.dense import DenseCache
    from backprop_cli.engine.layers.dropout import DropoutCache
    from backprop_cli.engine.layers.flatten import FlattenCache
    from backprop_cli.engine.layers.pool import PoolCache
    from backprop_cli.engine.layers.rnn import RnnCache
    from backprop_cli.model.activations import Activation

    _implementations: tuple[
        LayerType[ActivateCache], LayerType[ConvCache], LayerType[DenseCache],
        LayerType[DropoutCache], LayerType[FlattenCache], LayerType[PoolCache],
        LayerType[RnnCache],
    ] = (Activate(Activation("relu")), conv2d(1, 1), Dense(1), Dropout(0.5, np.ones(1)), Flatten(),
         maxpool2d(1), Rnn(1, Activation("tanh")))

__all__ = [
    "Activate", "Bptt", "Conv", "Dense", "Dropout", "Flatten", "LayerType", "Pool", "Rnn",
    "avgpool1d", "avgpool2d", "backward_stack", "conv1d", "conv2d", "forward_stack",
    "maxpool1d", "maxpool2d", "sequence_loss", "stack_shapes",
]
