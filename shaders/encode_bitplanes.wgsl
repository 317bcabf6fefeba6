// Gomoku and tic-tac-toe: packed states -> input planes, one invocation per
// output value.
//
// states: [n, words] u32 = own bits (wpp words), opponent bits (wpp words),
//         moves; cell i is bit i % 32 of word i / 32 (see src/game/gomoku.rs,
//         src/game/tictactoe.rs)
// planes: [n, 2, cells] f32 (cells = H*W, row-major), own stones first.
// params: [n, cells, wpp, words]
// CPU references: Gomoku::encode_packed, TicTacToe::encode_packed.

@group(0) @binding(0) var<storage, read_write> states: array<u32>;
@group(0) @binding(1) var<storage, read_write> planes: array<f32>;
@group(0) @binding(2) var<storage, read_write> params: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = params[0];
    let cells = params[1];
    let wpp = params[2];
    let words = params[3];
    let per = 2u * cells;
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= n * per) {
        return;
    }
    let pos = idx / per;
    let rem = idx % per;
    let plane = rem / cells;
    let cell = rem % cells;
    let word = states[pos * words + plane * wpp + cell / 32u];
    planes[idx] = f32((word >> (cell % 32u)) & 1u);
}
