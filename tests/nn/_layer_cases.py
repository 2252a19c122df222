"""One small instance of every layer class pyg_nar.nn exports, for the generic layer tests."""
from pyg_nar.nn import (BidirectionalGraphFFN, DegreeGate, FlowAttention, FlowMessagePassing,
                        FusionTransformer, GraphAidedAttention, GroupedFeedForward, GroupedLinear,
                        NARFormerV2Layer, NNFormerLayer, SiblingAttention, TransformerBlock)

#: class name -> constructors of the configurations to check (each variant that builds other
#: parameters is listed)
LAYER_CASES = {
    "DegreeGate": [lambda: DegreeGate(8)],
    "FlowAttention": [lambda: FlowAttention(16, heads=4)],
    "FlowMessagePassing": [lambda: FlowMessagePassing(8)],
    "FusionTransformer": [lambda: FusionTransformer(dim=32, num_layers=2, head_dim=16)],
    "GraphAidedAttention": [lambda: GraphAidedAttention(8, 6),
                            lambda: GraphAidedAttention(8, 6, degree_gating=False)],
    "GroupedFeedForward": [lambda: GroupedFeedForward(8, groups=4),
                           lambda: GroupedFeedForward(8, groups=4, norm=False)],
    "GroupedLinear": [lambda: GroupedLinear(8, 12, groups=4),
                      lambda: GroupedLinear(8, 12, groups=4, bias=False, norm=False)],
    "NARFormerV2Layer": [lambda: NARFormerV2Layer(6, 8, groups=4),
                         lambda: NARFormerV2Layer(8, 8, groups=4, degree_gating=False)],
    "SiblingAttention": [lambda: SiblingAttention(16, heads=4)],
    "BidirectionalGraphFFN": [lambda: BidirectionalGraphFFN(8, hidden=16)],
    "NNFormerLayer": [lambda: NNFormerLayer(8, heads=4, ffn_ratio=2)],
    "TransformerBlock": [lambda: TransformerBlock(16, 4), lambda: TransformerBlock(16, 4, cross=True)],
}
