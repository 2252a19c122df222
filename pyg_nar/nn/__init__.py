"""Neural-network layers of pyg_nar, one class a file (``flow_schedule`` holds the schedule
that :class:`FlowMessagePassing` layers share)."""
from pyg_nar.nn.degree_gate import DegreeGate
from pyg_nar.nn.flow_attention import FlowAttention
from pyg_nar.nn.flow_message_passing import FlowMessagePassing
from pyg_nar.nn.flow_schedule import FlowSchedule, flow_schedule
from pyg_nar.nn.fusion_transformer import FusionTransformer
from pyg_nar.nn.graph_aided_attention import GraphAidedAttention
from pyg_nar.nn.grouped_feed_forward import GroupedFeedForward
from pyg_nar.nn.grouped_linear import GroupedLinear
from pyg_nar.nn.narformer_v2_layer import NARFormerV2Layer
from pyg_nar.nn.nnformer_layer import NNFormerLayer
from pyg_nar.nn.sibling_attention import SiblingAttention, sibling_pairs
from pyg_nar.nn.bidirectional_graph_ffn import BidirectionalGraphFFN
from pyg_nar.nn.transformer_block import TransformerBlock

__all__ = ["FusionTransformer", "TransformerBlock", "DegreeGate", "GraphAidedAttention",
           "GroupedFeedForward", "GroupedLinear", "NARFormerV2Layer",
           "FlowAttention", "FlowMessagePassing", "FlowSchedule", "flow_schedule",
           "SiblingAttention", "BidirectionalGraphFFN", "NNFormerLayer", "sibling_pairs"]
