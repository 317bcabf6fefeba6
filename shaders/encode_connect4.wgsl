// Connect Four: packed states -> input planes, one invocation per output value.
//
// states: [n, 5] u32 = own_lo, own_hi, opp_lo, opp_hi, moves (see src/game/connect4.rs)
// planes: [n, 2, 6, 7] f32, plane 0 the side to move's stones, plane 1 the
//         opponent's, row 0 at the top. Cell (row, col) is bit col*7 + (5-row).
// params: [n]
// CPU reference: Connect4::encode_packed.

@group(0) @binding(0) var<storage, read_write> states: array<u32>;
@group(0) @binding(1) var<storage, read_write> planes: array<f32>;
@group(0) @binding(2) var<storage, read_write> params: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = params[0];
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= n * 84u) {
        return;
    }
    let pos = idx / 84u;
    let rem = idx % 84u;
    let plane = rem / 42u;
    let cell = rem % 42u;
    let b = (cell % 7u) * 7u + (5u - cell / 7u);
    let word = states[pos * 5u + plane * 2u + b / 32u];
    planes[idx] = f32((word >> (b % 32u)) & 1u);
}
