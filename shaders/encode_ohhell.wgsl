// Oh Hell information states: packed words -> network features, one
// invocation per feature value.
//
// states:   [n, W] u32 (see OhHell::pack_info in src/cards/ohhell.rs): word 0
//           me | dealer seat << 3 | tricks << 6 | play phase << 11 |
//           leader seat << 12 | trump card << 16 (63 none); words 1-2 my
//           hand; then a nibble per card (0 unseen, 1 + seat of the player
//           who played it, + 8 in the current trick); then bids (a byte per
//           seat, 255 none, 2 words), tricks won (2 words), voids (4 bits per
//           seat, 1 word); then the deal: a nibble per card, the seat of
//           the other player holding it (0: none). Seats count from the
//           observer.
// features: [n, F] f32, groups in order: hand [N], past tricks [P, N],
//           current trick [P, N], trump card [N], bids [P, T + 2], tricks
//           won [P, T + 1], voids [P, S], tricks [T], dealer [P], leader [P],
//           phase [1], the other seats' cards [P - 1, N].
// params:   [n, F, W, P, N, S, T, then the 12 group offsets hand .. others,
//           then the card words ceil(N / 8)]
// CPU reference: OhHell::encode_info.

@group(0) @binding(0) var<storage, read_write> states: array<u32>;
@group(0) @binding(1) var<storage, read_write> features: array<f32>;
@group(0) @binding(2) var<storage, read_write> params: array<u32>;

fn byte_at(base: u32, seat: u32) -> u32 {
    return (states[base + seat / 4u] >> (8u * (seat % 4u))) & 255u;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = params[0];
    let flen = params[1];
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= n * flen) {
        return;
    }
    let w = params[2];
    let p = params[3];
    let nc = params[4];
    let ns = params[5];
    let t = params[6];
    let o_past = params[8];
    let o_current = params[9];
    let o_trump = params[10];
    let o_bids = params[11];
    let o_won = params[12];
    let o_voids = params[13];
    let o_tricks = params[14];
    let o_dealer = params[15];
    let o_leader = params[16];
    let o_phase = params[17];
    let o_others = params[18];
    let cw = params[19];
    let bw = 3u + cw;

    let s = (idx / flen) * w;
    let f = idx % flen;
    let w0 = states[s];
    var v = 0u;
    if (f < o_past) {
        let c = f - params[7];
        v = (states[s + 1u + c / 32u] >> (c % 32u)) & 1u;
    } else if (f < o_trump) {
        let current = f >= o_current;
        let r = f - select(o_past, o_current, current);
        let seat = r / nc;
        let c = r % nc;
        let nib = (states[s + 3u + c / 8u] >> (4u * (c % 8u))) & 15u;
        if ((nib & 7u) != 0u && (nib & 7u) - 1u == seat && ((nib & 8u) != 0u) == current) {
            v = 1u;
        }
    } else if (f < o_bids) {
        v = u32(((w0 >> 16u) & 63u) == f - o_trump);
    } else if (f < o_won) {
        let r = f - o_bids;
        let b = byte_at(s + bw, r / (t + 2u));
        let want = select(1u + min(b, t), 0u, b == 255u);
        v = u32(r % (t + 2u) == want);
    } else if (f < o_voids) {
        let r = f - o_won;
        let won = byte_at(s + bw + 2u, r / (t + 1u));
        v = u32(r % (t + 1u) == min(won, t));
    } else if (f < o_tricks) {
        let r = f - o_voids;
        let voids = states[s + bw + 4u] >> (4u * (r / ns));
        v = (voids >> (r % ns)) & 1u;
    } else if (f < o_dealer) {
        let tricks = (w0 >> 6u) & 31u;
        v = u32(tricks >= 1u && tricks <= t && f - o_tricks == tricks - 1u);
    } else if (f < o_leader) {
        v = u32(f - o_dealer == ((w0 >> 3u) & 7u) % p);
    } else if (f < o_phase) {
        v = u32(f - o_leader == ((w0 >> 12u) & 7u) % p);
    } else if (f < o_others) {
        v = (w0 >> 11u) & 1u;
    } else {
        let r = f - o_others;
        let c = r % nc;
        let held = (states[s + bw + 5u + c / 8u] >> (4u * (c % 8u))) & 15u;
        v = u32(held == r / nc + 1u);
    }
    features[idx] = f32(v);
}
