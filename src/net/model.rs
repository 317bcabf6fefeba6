//! The residual policy/value network (AlphaZero style) in burn.

use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};

use super::config::NetConfig;
use super::cpu::{BatchNormParams, Conv, ConvAlgo, CpuNet, CpuPooledHeads, Dense};
use crate::eval::ScoreUtility;

fn conv(cin: usize, cout: usize, k: usize, device: &Device) -> Conv2d {
    let padding = if k == 1 {
        PaddingConfig2d::Valid
    } else {
        PaddingConfig2d::Same
    };
    Conv2dConfig::new([cin, cout], [k, k])
        .with_padding(padding)
        .with_bias(false)
        .init(device)
}

fn bn(n: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(n).init(device)
}

/// The size factor of KataGo's scaled mean: `(sqrt(cells) - 14) / 10`
/// (-0.5 on 9x9, +0.5 on 19x19).
pub fn pool_scale(cells: usize) -> f32 {
    ((cells as f32).sqrt() - 14.0) / 10.0
}

/// KataGo's global pooling of `[N, C, H, W]` features: each channel's mean
/// over the board, that mean times [`pool_scale`], and its maximum, `[N, 3C]`.
pub fn global_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    let flat = x.reshape([n, c, h * w]);
    let mean = flat.clone().mean_dim(2).reshape([n, c]);
    let max = flat.max_dim(2).reshape([n, c]);
    let scaled = mean.clone().mul_scalar(pool_scale(h * w));
    Tensor::cat(vec![mean, scaled, max], 1)
}

/// `relu(x + b)` with the per-channel biases `b` (`[N, C]`) added at every cell.
fn add_channel_bias_relu(x: Tensor<4>, b: Tensor<2>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    relu(x + b.reshape([n, c, 1, 1]).expand([n, c, h, w]))
}

/// Two 3x3 convolutions with batch norm and a skip connection; with global
/// pooling, the first convolution's features also give per-channel biases
/// through [`global_pool`] and a dense layer (KataGo's global pooling
/// bias).
#[derive(Module, Debug)]
pub struct ResBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    gpool: Option<Linear>,
}

impl ResBlock {
    fn new(ch: usize, pooled: bool, device: &Device) -> Self {
        ResBlock {
            conv1: conv(ch, ch, 3, device),
            bn1: bn(ch, device),
            conv2: conv(ch, ch, 3, device),
            bn2: bn(ch, device),
            gpool: pooled.then(|| LinearConfig::new(3 * ch, ch).init(device)),
        }
    }

    /// `[N, ch, H, W] -> [N, ch, H, W]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = relu(self.bn1.forward(self.conv1.forward(x.clone())));
        if let Some(fc) = &self.gpool {
            let b = fc.forward(global_pool(y.clone()));
            y = add_channel_bias_relu(y, b);
        }
        let y = self.bn2.forward(self.conv2.forward(y));
        relu(y + x)
    }
}

/// The layers a network with global pooling has beyond the others: the
/// policy head's pooled biases and its logit per cell (the pass logit is
/// `policy_fc` on the pooled features), and with the auxiliary heads the
/// reply's logit per cell (its pass: `reply_fc`).
#[derive(Module, Debug)]
pub struct PooledHeads {
    policy_bias_fc: Linear,
    policy_cells: Conv2d,
    reply_cells: Option<Conv2d>,
}

/// The policy head's features: flattened (AlphaZero's head) or, with
/// global pooling, per cell with their pooled summary.
// Lives for one forward pass: boxing a variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum PolicyFeatures {
    Flat(Tensor<2>),
    Pooled(Tensor<4>, Tensor<2>),
}

/// KataGo's auxiliary heads (training targets that teach the trunk more
/// than one result per game): the final owner of every cell (a 1x1
/// convolution of the trunk, one logit per cell), the final score margin
/// (from the value head's hidden layer) and the opponent's reply (a second
/// linear layer on the policy head's features).
#[derive(Module, Debug)]
pub struct AuxHeads {
    ownership_conv: Conv2d,
    score_fc: Linear,
    reply_fc: Linear,
}

/// What the auxiliary heads say about a batch.
pub struct AuxOutputs {
    /// `[N, H*W]` ownership logits: the owner is the side to move with
    /// probability `sigmoid(logit)` (the expected owner `tanh(logit / 2)`).
    pub ownership: Tensor<2>,
    /// `[N, 1]` final score margin for the side to move over the cells.
    pub score: Tensor<2>,
    /// `[N, A]` logits of the opponent's reply.
    pub reply: Tensor<2>,
}

/// Conv stem, residual tower, policy head (logits over all actions) and value
/// head (tanh), and with `aux_heads` the [`AuxHeads`] (used in training;
/// inference reads the policy and value only). Illegal actions are masked
/// by the caller.
#[derive(Module, Debug)]
pub struct PolicyValueNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    blocks: Vec<ResBlock>,
    policy_conv: Conv2d,
    policy_bn: BatchNorm,
    policy_fc: Linear,
    value_conv: Conv2d,
    value_bn: BatchNorm,
    value_fc1: Linear,
    value_fc2: Linear,
    aux: Option<AuxHeads>,
    pooled: Option<PooledHeads>,
}

impl PolicyValueNet {
    /// A randomly initialised network of shape `cfg` on `device`.
    pub fn new(cfg: &NetConfig, device: &Device) -> Self {
        let [c, h, w] = cfg.input;
        let (ch, ph, vc) = (cfg.channels, cfg.policy_channels, cfg.value_channels);
        let pooled = cfg.global_pooling;
        // With global pooling the dense layers read pooled features (3 per
        // channel) and the policy's pass only; without, every cell.
        let (policy_in, policy_out, value_in) = if pooled {
            (3 * ph, 1, 3 * vc)
        } else {
            (ph * h * w, cfg.actions, vc * h * w)
        };
        let cell_logits = || Conv2dConfig::new([ph, 1], [1, 1]).init(device);
        PolicyValueNet {
            stem: conv(c, ch, 3, device),
            stem_bn: bn(ch, device),
            blocks: (0..cfg.blocks)
                .map(|_| ResBlock::new(ch, pooled, device))
                .collect(),
            policy_conv: conv(ch, ph, 1, device),
            policy_bn: bn(ph, device),
            policy_fc: LinearConfig::new(policy_in, policy_out).init(device),
            value_conv: conv(ch, vc, 1, device),
            value_bn: bn(vc, device),
            value_fc1: LinearConfig::new(value_in, cfg.value_hidden).init(device),
            value_fc2: LinearConfig::new(cfg.value_hidden, 1).init(device),
            aux: cfg.aux_heads.then(|| AuxHeads {
                ownership_conv: Conv2dConfig::new([ch, 1], [1, 1]).init(device),
                score_fc: LinearConfig::new(cfg.value_hidden, 1).init(device),
                reply_fc: LinearConfig::new(policy_in, policy_out).init(device),
            }),
            pooled: pooled.then(|| PooledHeads {
                policy_bias_fc: LinearConfig::new(3 * ph, ph).init(device),
                policy_cells: cell_logits(),
                reply_cells: cfg.aux_heads.then(cell_logits),
            }),
        }
    }

    /// Whether the network has the auxiliary heads.
    pub fn has_aux(&self) -> bool {
        self.aux.is_some()
    }

    /// The same function with `extra` residual blocks appended: each new
    /// block's last batch norm has zero scale and shift, so the block starts
    /// as the identity (the input is already non-negative after a ReLU) and
    /// training grows it from there (Net2Net-style deepening).
    pub fn deepened(mut self, extra: usize, device: &Device) -> Self {
        let ch = self.stem_bn.gamma.dims()[0];
        let pooled = self.pooled.is_some();
        for _ in 0..extra {
            let mut b = ResBlock::new(ch, pooled, device);
            b.bn2.gamma = Param::from_tensor(Tensor::zeros([ch], device));
            b.bn2.beta = Param::from_tensor(Tensor::zeros([ch], device));
            self.blocks.push(b);
        }
        self
    }

    /// The same function with a value head `channels` wide (its 1x1
    /// convolution's outputs; no change when it has that many already): the
    /// old channels keep their weights, the new ones start random and reach
    /// the hidden layer through zero weights, so the outputs are unchanged
    /// and training grows the new features from there (Net2Net-style
    /// widening).
    pub fn value_widened(mut self, channels: usize, device: &Device) -> Self {
        let [old, ch, _, _] = self.value_conv.weight.dims();
        if channels <= old {
            return self;
        }
        let [features, hidden] = self.value_fc1.weight.dims();
        let cells = features / old;
        let mut value_conv = conv(ch, channels, 1, device);
        value_conv.weight = Param::from_tensor(
            value_conv
                .weight
                .val()
                .slice_assign([0..old, 0..ch, 0..1, 0..1], self.value_conv.weight.val()),
        );
        let mut value_bn = bn(channels, device);
        let keep = |new: Tensor<1>, old_t: Tensor<1>| new.slice_assign(0..old, old_t);
        value_bn.gamma = Param::from_tensor(keep(value_bn.gamma.val(), self.value_bn.gamma.val()));
        value_bn.beta = Param::from_tensor(keep(value_bn.beta.val(), self.value_bn.beta.val()));
        value_bn.running_mean = RunningState::new(keep(
            value_bn.running_mean.value(),
            self.value_bn.running_mean.value_sync(),
        ));
        value_bn.running_var = RunningState::new(keep(
            value_bn.running_var.value(),
            self.value_bn.running_var.value_sync(),
        ));
        let fc1 = Tensor::zeros([channels * cells, hidden], device)
            .slice_assign([0..features, 0..hidden], self.value_fc1.weight.val());
        self.value_fc1.weight = Param::from_tensor(fc1);
        self.value_conv = value_conv;
        self.value_bn = value_bn;
        self
    }

    /// The sum of squares of the convolution and dense-layer weights (not
    /// the biases, not batch norm's scale and shift): the L2 penalty of
    /// training, `[1]`.
    pub fn l2_penalty(&self) -> Tensor<1> {
        let sq4 = |w: &Param<Tensor<4>>| w.val().powi_scalar(2).sum();
        let sq2 = |w: &Param<Tensor<2>>| w.val().powi_scalar(2).sum();
        let mut total = sq4(&self.stem.weight)
            + sq4(&self.policy_conv.weight)
            + sq4(&self.value_conv.weight)
            + sq2(&self.policy_fc.weight)
            + sq2(&self.value_fc1.weight)
            + sq2(&self.value_fc2.weight);
        for b in &self.blocks {
            total = total + sq4(&b.conv1.weight) + sq4(&b.conv2.weight);
            if let Some(fc) = &b.gpool {
                total = total + sq2(&fc.weight);
            }
        }
        if let Some(h) = &self.pooled {
            total = total + sq2(&h.policy_bias_fc.weight) + sq4(&h.policy_cells.weight);
        }
        total
    }

    /// `[N, C, H, W]` planes -> (policy logits `[N, A]`, value `[N, 1]` in `[-1, 1]`).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        self.forward_with(x, None)
    }

    /// [`PolicyValueNet::forward`] with the value turned into `utility`'s
    /// blend of the value and the score head (a network without the
    /// auxiliary heads, or `None`: the value as it is).
    pub fn forward_with(
        &self,
        x: Tensor<4>,
        utility: Option<ScoreUtility>,
    ) -> (Tensor<2>, Tensor<2>) {
        let x = self.trunk(x);
        let p = self.policy_features(x.clone());
        let logits = self.policy_logits(&p);
        let (value, hidden) = self.value(x);
        let value = match (utility, &self.aux) {
            (Some(u), Some(a)) => {
                let points = a.score_fc.forward(hidden).mul_scalar(u.cells / u.scale);
                let score = points
                    .atan()
                    .mul_scalar(std::f32::consts::FRAC_2_PI * u.factor);
                (value + score).div_scalar(1.0 + u.factor)
            }
            _ => value,
        };
        (logits, value)
    }

    /// The stem and the residual tower.
    fn trunk(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = relu(self.stem_bn.forward(self.stem.forward(x)));
        for block in &self.blocks {
            x = block.forward(x);
        }
        x
    }

    /// The policy head's features of the trunk's output `x`.
    fn policy_features(&self, x: Tensor<4>) -> PolicyFeatures {
        let p = relu(self.policy_bn.forward(self.policy_conv.forward(x)));
        match &self.pooled {
            None => PolicyFeatures::Flat(p.flatten(1, 3)),
            Some(heads) => {
                let g = global_pool(p.clone());
                let b = heads.policy_bias_fc.forward(g.clone());
                PolicyFeatures::Pooled(add_channel_bias_relu(p, b), g)
            }
        }
    }

    /// The policy logits `[N, A]` from its features.
    fn policy_logits(&self, p: &PolicyFeatures) -> Tensor<2> {
        let cells = self.pooled.as_ref().map(|h| &h.policy_cells);
        logits_of(p, cells, &self.policy_fc)
    }

    /// The value `[N, 1]` and the value head's hidden layer.
    fn value(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let v = relu(self.value_bn.forward(self.value_conv.forward(x)));
        let v = match self.pooled {
            None => v.flatten(1, 3),
            Some(_) => global_pool(v),
        };
        let hidden = relu(self.value_fc1.forward(v));
        (tanh(self.value_fc2.forward(hidden.clone())), hidden)
    }

    /// [`PolicyValueNet::forward`] and, when the network has them, the
    /// auxiliary heads' outputs (training, analysis; inference calls
    /// `forward`, which leaves them out).
    pub fn forward_aux(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>, Option<AuxOutputs>) {
        let Some(a) = &self.aux else {
            let (logits, value) = self.forward(x);
            return (logits, value, None);
        };
        let x = self.trunk(x);
        let p = self.policy_features(x.clone());
        let logits = self.policy_logits(&p);
        let (value, hidden) = self.value(x.clone());
        let reply_cells = self.pooled.as_ref().and_then(|h| h.reply_cells.as_ref());
        let aux = AuxOutputs {
            ownership: a.ownership_conv.forward(x).flatten(1, 3),
            score: a.score_fc.forward(hidden),
            reply: logits_of(&p, reply_cells, &a.reply_fc),
        };
        (logits, value, Some(aux))
    }
}

/// Logits `[N, A]` from the policy head's features: a dense layer over the
/// flat features, or with global pooling a 1x1 convolution's logit per cell
/// followed by the pass from a dense layer over the pooled features.
fn logits_of(p: &PolicyFeatures, cells: Option<&Conv2d>, fc: &Linear) -> Tensor<2> {
    match (p, cells) {
        (PolicyFeatures::Pooled(p, g), Some(cells)) => {
            let per_cell = cells.forward(p.clone()).flatten(1, 3);
            Tensor::cat(vec![per_cell, fc.forward(g.clone())], 1)
        }
        (PolicyFeatures::Flat(p), _) | (PolicyFeatures::Pooled(_, p), None) => {
            fc.forward(p.clone())
        }
    }
}

/// A tensor's values as f32.
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32")
}

fn bn_params(bn: &BatchNorm) -> BatchNormParams {
    BatchNormParams {
        gamma: values(bn.gamma.val()),
        beta: values(bn.beta.val()),
        mean: values(bn.running_mean.value_sync()),
        var: values(bn.running_var.value_sync()),
        epsilon: bn.epsilon,
    }
}

fn folded(conv: &Conv2d, bn: &BatchNorm) -> Conv {
    let [cout, cin, k, _] = conv.weight.dims();
    Conv::folded(&values(conv.weight.val()), cout, cin, k, &bn_params(bn))
}

fn dense(l: &Linear) -> Dense {
    let [_, out] = l.weight.dims();
    let bias = match &l.bias {
        Some(b) => values(b.val()),
        None => vec![0.0; out],
    };
    Dense::new(values(l.weight.val()), bias)
}

/// A 1x1 convolution to one channel (with its bias) as a dense layer from
/// the channels of one cell.
fn cell_dense(c: &Conv2d) -> Dense {
    let bias = match &c.bias {
        Some(b) => values(b.val()),
        None => vec![0.0],
    };
    Dense::new(values(c.weight.val()), bias)
}

impl PolicyValueNet {
    /// The same network as plain arrays for the CPU inference path (batch
    /// norm folded into the convolutions; inference statistics), its value
    /// blended with the score by `utility` where it has a score head.
    pub fn cpu_net(
        &self,
        cfg: &NetConfig,
        algo: ConvAlgo,
        simd: super::kernels::Simd,
        precision: super::cpu::CpuPrecision,
        utility: Option<ScoreUtility>,
    ) -> CpuNet {
        let [planes, height, width] = cfg.input;
        CpuNet {
            height,
            width,
            planes,
            stem: folded(&self.stem, &self.stem_bn),
            blocks: self
                .blocks
                .iter()
                .map(|b| [folded(&b.conv1, &b.bn1), folded(&b.conv2, &b.bn2)])
                .collect(),
            policy_conv: folded(&self.policy_conv, &self.policy_bn),
            policy_fc: dense(&self.policy_fc),
            value_conv: folded(&self.value_conv, &self.value_bn),
            value_fc1: dense(&self.value_fc1),
            value_fc2: dense(&self.value_fc2),
            gpool: self
                .blocks
                .iter()
                .filter_map(|b| b.gpool.as_ref().map(dense))
                .collect(),
            pooled: self.pooled.as_ref().map(|h| CpuPooledHeads {
                policy_bias: dense(&h.policy_bias_fc),
                policy_cells: cell_dense(&h.policy_cells),
            }),
            score: utility
                .zip(self.aux.as_ref())
                .map(|(u, a)| (dense(&a.score_fc), u)),
            algo,
            simd,
            precision,
        }
    }
}
