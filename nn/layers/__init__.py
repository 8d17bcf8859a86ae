"""Layers: configuration-only objects with pure `init` and `apply`.

Example:
  >>> from nn import layers
  >>> layer = layers.Dense(3)
  >>> variables = layer.init(sl.random.key(0), jnp.ones((2, 4)))
  >>> layer.apply(variables, jnp.ones((2, 4)))[0].shape
  (2, 3)
"""

from nn.layers.activation_layers import ELU as ELU
from nn.layers.activation_layers import LeakyReLU as LeakyReLU
from nn.layers.activation_layers import PReLU as PReLU
from nn.layers.activation_layers import ReLU as ReLU
from nn.layers.activation_layers import Softmax as Softmax
from nn.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D as AdaptiveAveragePooling1D,
)
from nn.layers.adaptive_pooling import (
    AdaptiveAveragePooling2D as AdaptiveAveragePooling2D,
)
from nn.layers.adaptive_pooling import (
    AdaptiveAveragePooling3D as AdaptiveAveragePooling3D,
)
from nn.layers.adaptive_pooling import AdaptiveMaxPooling1D as AdaptiveMaxPooling1D
from nn.layers.adaptive_pooling import AdaptiveMaxPooling2D as AdaptiveMaxPooling2D
from nn.layers.adaptive_pooling import AdaptiveMaxPooling3D as AdaptiveMaxPooling3D
from nn.layers.attention import MultiHeadAttention as MultiHeadAttention
from nn.layers.base import Layer as Layer
from nn.layers.bidirectional import Bidirectional as Bidirectional
from nn.layers.conv_lstm import ConvLSTM1D as ConvLSTM1D
from nn.layers.conv_lstm import ConvLSTM2D as ConvLSTM2D
from nn.layers.conv_lstm import ConvLSTM3D as ConvLSTM3D
from nn.layers.convolution import Conv1D as Conv1D
from nn.layers.convolution import Conv2D as Conv2D
from nn.layers.convolution import Conv3D as Conv3D
from nn.layers.convolution import Convolution1D as Convolution1D
from nn.layers.convolution import Convolution2D as Convolution2D
from nn.layers.convolution import Convolution3D as Convolution3D
from nn.layers.convolution_transpose import Conv1DTranspose as Conv1DTranspose
from nn.layers.convolution_transpose import Conv2DTranspose as Conv2DTranspose
from nn.layers.convolution_transpose import Conv3DTranspose as Conv3DTranspose
from nn.layers.convolution_transpose import (
    Convolution1DTranspose as Convolution1DTranspose,
)
from nn.layers.convolution_transpose import (
    Convolution2DTranspose as Convolution2DTranspose,
)
from nn.layers.convolution_transpose import (
    Convolution3DTranspose as Convolution3DTranspose,
)
from nn.layers.core import Activation as Activation
from nn.layers.core import Dense as Dense
from nn.layers.core import Dropout as Dropout
from nn.layers.core import Embedding as Embedding
from nn.layers.core import Identity as Identity
from nn.layers.core import Input as Input
from nn.layers.core import InputLayer as InputLayer
from nn.layers.core import Masking as Masking
from nn.layers.core import Rescaling as Rescaling
from nn.layers.depthwise import DepthwiseConv1D as DepthwiseConv1D
from nn.layers.depthwise import DepthwiseConv2D as DepthwiseConv2D
from nn.layers.depthwise import SeparableConv1D as SeparableConv1D
from nn.layers.depthwise import SeparableConv2D as SeparableConv2D
from nn.layers.depthwise import SeparableConvolution1D as SeparableConvolution1D
from nn.layers.depthwise import SeparableConvolution2D as SeparableConvolution2D
from nn.layers.dot_attention import AdditiveAttention as AdditiveAttention
from nn.layers.dot_attention import Attention as Attention
from nn.layers.einsum_dense import EinsumDense as EinsumDense
from nn.layers.global_pooling import GlobalAveragePooling1D as GlobalAveragePooling1D
from nn.layers.global_pooling import GlobalAveragePooling2D as GlobalAveragePooling2D
from nn.layers.global_pooling import GlobalAveragePooling3D as GlobalAveragePooling3D
from nn.layers.global_pooling import GlobalAvgPool1D as GlobalAvgPool1D
from nn.layers.global_pooling import GlobalAvgPool2D as GlobalAvgPool2D
from nn.layers.global_pooling import GlobalAvgPool3D as GlobalAvgPool3D
from nn.layers.global_pooling import GlobalMaxPool1D as GlobalMaxPool1D
from nn.layers.global_pooling import GlobalMaxPool2D as GlobalMaxPool2D
from nn.layers.global_pooling import GlobalMaxPool3D as GlobalMaxPool3D
from nn.layers.global_pooling import GlobalMaxPooling1D as GlobalMaxPooling1D
from nn.layers.global_pooling import GlobalMaxPooling2D as GlobalMaxPooling2D
from nn.layers.global_pooling import GlobalMaxPooling3D as GlobalMaxPooling3D
from nn.layers.group_query_attention import (
    GroupedQueryAttention as GroupedQueryAttention,
)
from nn.layers.group_query_attention import (
    GroupQueryAttention as GroupQueryAttention,
)
from nn.layers.jax_layers import EquinoxLayer as EquinoxLayer
from nn.layers.jax_layers import FlaxLayer as FlaxLayer
from nn.layers.jax_layers import JaxLayer as JaxLayer
from nn.layers.lambda_layer import Lambda as Lambda
from nn.layers.merging import Add as Add
from nn.layers.merging import Average as Average
from nn.layers.merging import Concatenate as Concatenate
from nn.layers.merging import Dot as Dot
from nn.layers.merging import Maximum as Maximum
from nn.layers.merging import Minimum as Minimum
from nn.layers.merging import Multiply as Multiply
from nn.layers.merging import Subtract as Subtract
from nn.layers.merging import add as add
from nn.layers.merging import average as average
from nn.layers.merging import concatenate as concatenate
from nn.layers.merging import dot as dot
from nn.layers.merging import maximum as maximum
from nn.layers.merging import minimum as minimum
from nn.layers.merging import multiply as multiply
from nn.layers.merging import subtract as subtract
from nn.layers.noise import ActivityRegularization as ActivityRegularization
from nn.layers.noise import AlphaDropout as AlphaDropout
from nn.layers.noise import GaussianDropout as GaussianDropout
from nn.layers.noise import GaussianNoise as GaussianNoise
from nn.layers.noise import SpatialDropout1D as SpatialDropout1D
from nn.layers.noise import SpatialDropout2D as SpatialDropout2D
from nn.layers.noise import SpatialDropout3D as SpatialDropout3D
from nn.layers.normalization import BatchNormalization as BatchNormalization
from nn.layers.normalization import GroupNormalization as GroupNormalization
from nn.layers.normalization import LayerNormalization as LayerNormalization
from nn.layers.operation import Operation as Operation
from nn.layers.pooling import AveragePooling1D as AveragePooling1D
from nn.layers.pooling import AveragePooling2D as AveragePooling2D
from nn.layers.pooling import AveragePooling3D as AveragePooling3D
from nn.layers.pooling import AvgPool1D as AvgPool1D
from nn.layers.pooling import AvgPool2D as AvgPool2D
from nn.layers.pooling import AvgPool3D as AvgPool3D
from nn.layers.pooling import MaxPool1D as MaxPool1D
from nn.layers.pooling import MaxPool2D as MaxPool2D
from nn.layers.pooling import MaxPool3D as MaxPool3D
from nn.layers.pooling import MaxPooling1D as MaxPooling1D
from nn.layers.pooling import MaxPooling2D as MaxPooling2D
from nn.layers.pooling import MaxPooling3D as MaxPooling3D
from nn.layers.recurrent import GRU as GRU
from nn.layers.recurrent import LSTM as LSTM
from nn.layers.recurrent import SimpleRNN as SimpleRNN
from nn.layers.reshaping import Flatten as Flatten
from nn.layers.reshaping import Permute as Permute
from nn.layers.reshaping import RepeatVector as RepeatVector
from nn.layers.reshaping import Reshape as Reshape
from nn.layers.reversible_embedding import ReversibleEmbedding as ReversibleEmbedding
from nn.layers.rms_normalization import RMSNormalization as RMSNormalization
from nn.layers.rms_normalization import UnitNormalization as UnitNormalization
from nn.layers.rnn import RNN as RNN
from nn.layers.rnn import StackedRNNCells as StackedRNNCells
from nn.layers.rnn_cells import GRUCell as GRUCell
from nn.layers.rnn_cells import LSTMCell as LSTMCell
from nn.layers.rnn_cells import SimpleRNNCell as SimpleRNNCell
from nn.layers.spatial_edges import Cropping1D as Cropping1D
from nn.layers.spatial_edges import Cropping2D as Cropping2D
from nn.layers.spatial_edges import Cropping3D as Cropping3D
from nn.layers.spatial_edges import ZeroPadding1D as ZeroPadding1D
from nn.layers.spatial_edges import ZeroPadding2D as ZeroPadding2D
from nn.layers.spatial_edges import ZeroPadding3D as ZeroPadding3D
from nn.layers.spectral_normalization import (
    SpectralNormalization as SpectralNormalization,
)
from nn.layers.time_distributed import TimeDistributed as TimeDistributed
from nn.layers.upsampling import UpSampling1D as UpSampling1D
from nn.layers.upsampling import UpSampling2D as UpSampling2D
from nn.layers.upsampling import UpSampling3D as UpSampling3D
from nn.layers.wrapper import Wrapper as Wrapper
