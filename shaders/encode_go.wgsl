// Go: packed states -> input planes, one invocation per output value.
//
// states: [n, words] u32 = header, komi, own stones (wpp words), opponent
//         stones (wpp), stones in atari (wpp), stones with two liberties
//         (wpp); point i is bit i % 32 of word i / 32 of each set. Header:
//         moves (bits 0-15), passes in a row (16-17), ko point (20-28, 511
//         none). Komi word: 2 * komi as i32. (See src/game/go.rs.)
// planes: [n, 10, cells] f32 (cells = n*n, row-major): own, opponent, own in
//         atari, opponent in atari, own with two liberties, opponent with
//         two liberties, ko point, ones, komi for the side to move / 10,
//         ones if the opponent just passed.
// params: [n, cells, wpp, words]
// CPU reference: Go::encode_packed.

@group(0) @binding(0) var<storage, read_write> states: array<u32>;
@group(0) @binding(1) var<storage, read_write> planes: array<f32>;
@group(0) @binding(2) var<storage, read_write> params: array<u32>;

fn has(base: u32, bits: u32, wpp: u32, cell: u32) -> bool {
    return ((states[base + 2u + bits * wpp + cell / 32u] >> (cell % 32u)) & 1u) == 1u;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = params[0];
    let cells = params[1];
    let wpp = params[2];
    let words = params[3];
    let per = 10u * cells;
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= n * per) {
        return;
    }
    let pos = idx / per;
    let rem = idx % per;
    let plane = rem / cells;
    let cell = rem % cells;
    let base = pos * words;
    let header = states[base];
    var v = 0.0;
    if (plane < 2u) {
        v = select(0.0, 1.0, has(base, plane, wpp, cell));
    } else if (plane < 6u) {
        let side = plane % 2u;
        let libset = 2u + (plane - 2u) / 2u;
        v = select(0.0, 1.0, has(base, side, wpp, cell) && has(base, libset, wpp, cell));
    } else if (plane == 6u) {
        v = select(0.0, 1.0, ((header >> 20u) & 511u) == cell);
    } else if (plane == 7u) {
        v = 1.0;
    } else if (plane == 8u) {
        let komi = f32(bitcast<i32>(states[base + 1u])) / 2.0;
        let mover = select(-komi, komi, (header & 1u) == 1u);
        v = mover / 10.0;
    } else {
        v = select(0.0, 1.0, ((header >> 16u) & 3u) >= 1u);
    }
    planes[idx] = v;
}
