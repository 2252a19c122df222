"""Layers of the architecture predictors."""
from pyg_nar.nn.flow_attention import FlowAttention
from pyg_nar.nn.flow_message_passing import FlowMessagePassing, FlowSchedule, flow_schedule

__all__ = ["FlowAttention", "FlowMessagePassing", "FlowSchedule", "flow_schedule"]
