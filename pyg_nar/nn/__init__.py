"""Neural-network layers of pyg_nar."""
from pyg_nar.nn.flow_attention import FlowAttention
from pyg_nar.nn.flow_message_passing import FlowMessagePassing
from pyg_nar.nn.flow_schedule import FlowSchedule, flow_schedule
from pyg_nar.nn.fusion_transformer import FusionTransformer, TransformerBlock
from pyg_nar.nn.graph_aided_attention import (DegreeGate, GraphAidedAttention, GroupedFeedForward,
                                              GroupedLinear, NARFormerV2Layer)

__all__ = ["FusionTransformer", "TransformerBlock", "DegreeGate", "GraphAidedAttention",
           "GroupedFeedForward", "GroupedLinear", "NARFormerV2Layer",
           "FlowAttention", "FlowMessagePassing", "FlowSchedule", "flow_schedule"]
