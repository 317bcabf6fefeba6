//! Structure-of-arrays search tree with integer node ids.
//!
//! Node 0 is the root. The children of a node are contiguous:
//! `first_child .. first_child + num_children`, one per legal action, in
//! increasing action order. Storage is kept between searches (`reset` only
//! truncates), so the hot loop allocates nothing once the vectors have grown.
//!
//! Perspectives: `value_sum` of a node is from the point of view of the player
//! who moved *into* it (its parent's side to move), so a parent simply prefers
//! children with high mean value; `net_value` is from the node's own side to move.

/// Index of a node.
pub type NodeId = u32;
/// The root's id.
pub const ROOT: NodeId = 0;
const NO_PARENT: NodeId = NodeId::MAX;

/// Where a node is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeStatus {
    /// Not evaluated yet.
    Unvisited,
    /// Its evaluation is in flight (handed out in a batch).
    Pending,
    /// Evaluated, children created.
    Expanded,
    /// Game over; `net_value` holds the result.
    Terminal,
}

/// The tree. Fields are per node, indexed by [`NodeId`].
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) parent: Vec<NodeId>,
    pub(crate) action: Vec<u16>,
    pub(crate) prior: Vec<f32>,
    pub(crate) visits: Vec<u32>,
    pub(crate) value_sum: Vec<f32>,
    /// Virtual loss: simulations in flight through this node.
    pub(crate) in_flight: Vec<u32>,
    pub(crate) first_child: Vec<NodeId>,
    pub(crate) num_children: Vec<u16>,
    pub(crate) status: Vec<NodeStatus>,
    pub(crate) net_value: Vec<f32>,
    capacity: usize,
    queue: Vec<(NodeId, NodeId)>,
}

impl Tree {
    /// An empty tree (just a root) that may grow to `capacity` nodes.
    pub fn new(capacity: usize) -> Self {
        let mut t = Tree {
            parent: Vec::new(),
            action: Vec::new(),
            prior: Vec::new(),
            visits: Vec::new(),
            value_sum: Vec::new(),
            in_flight: Vec::new(),
            first_child: Vec::new(),
            num_children: Vec::new(),
            status: Vec::new(),
            net_value: Vec::new(),
            capacity: capacity.max(1),
            queue: Vec::new(),
        };
        t.reset();
        t
    }

    /// Drops every node but a fresh root, keeping the memory.
    pub fn reset(&mut self) {
        self.truncate();
        self.push_node(NO_PARENT, 0, 1.0);
    }

    fn truncate(&mut self) {
        self.parent.clear();
        self.action.clear();
        self.prior.clear();
        self.visits.clear();
        self.value_sum.clear();
        self.in_flight.clear();
        self.first_child.clear();
        self.num_children.clear();
        self.status.clear();
        self.net_value.clear();
    }

    fn push_node(&mut self, parent: NodeId, action: u16, prior: f32) -> NodeId {
        let id = self.parent.len() as NodeId;
        self.parent.push(parent);
        self.action.push(action);
        self.prior.push(prior);
        self.visits.push(0);
        self.value_sum.push(0.0);
        self.in_flight.push(0);
        self.first_child.push(0);
        self.num_children.push(0);
        self.status.push(NodeStatus::Unvisited);
        self.net_value.push(0.0);
        id
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }
    /// The node budget.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Whether `n` more nodes fit in the budget.
    pub fn has_room(&self, n: usize) -> bool {
        self.len() + n <= self.capacity
    }

    /// Creates the children of `node`, one per `(action, prior)`. Returns false,
    /// creating nothing, when they do not fit in the node budget.
    pub(crate) fn add_children(&mut self, node: NodeId, children: &[(u16, f32)]) -> bool {
        if !self.has_room(children.len()) {
            return false;
        }
        let first = self.len() as NodeId;
        for &(a, p) in children {
            self.push_node(node, a, p);
        }
        self.first_child[node as usize] = first;
        self.num_children[node as usize] = children.len() as u16;
        self.status[node as usize] = NodeStatus::Expanded;
        true
    }

    /// Ids of the children of `node`.
    pub fn children(&self, node: NodeId) -> std::ops::Range<NodeId> {
        let f = self.first_child[node as usize];
        f..f + self.num_children[node as usize] as NodeId
    }
    /// The child of `node` reached by `action`, if it exists.
    pub fn child_by_action(&self, node: NodeId, action: usize) -> Option<NodeId> {
        self.children(node)
            .find(|&c| self.action[c as usize] as usize == action)
    }
    pub fn parent(&self, node: NodeId) -> Option<NodeId> {
        let p = self.parent[node as usize];
        (p != NO_PARENT).then_some(p)
    }
    pub fn action(&self, node: NodeId) -> usize {
        self.action[node as usize] as usize
    }
    pub fn prior(&self, node: NodeId) -> f32 {
        self.prior[node as usize]
    }
    pub fn visits(&self, node: NodeId) -> u32 {
        self.visits[node as usize]
    }
    pub fn in_flight(&self, node: NodeId) -> u32 {
        self.in_flight[node as usize]
    }
    pub fn status(&self, node: NodeId) -> NodeStatus {
        self.status[node as usize]
    }
    /// Mean value from the point of view of the player who moved into `node`.
    pub fn mean_value(&self, node: NodeId) -> Option<f32> {
        let n = self.visits[node as usize];
        (n > 0).then(|| self.value_sum[node as usize] / n as f32)
    }

    /// Keeps only the subtree under `child` (which becomes the root, statistics
    /// intact), compacting it into `spare` and swapping the two, so that no
    /// memory is allocated in steady state. Breadth-first order keeps each
    /// node's children contiguous.
    pub(crate) fn reroot(&mut self, child: NodeId, spare: &mut Tree) {
        spare.truncate();
        spare.capacity = self.capacity;
        let mut queue = std::mem::take(&mut self.queue);
        queue.clear();
        spare.copy_node_from(self, child, NO_PARENT);
        queue.push((child, ROOT));
        let mut head = 0;
        while head < queue.len() {
            let (old, new) = queue[head];
            head += 1;
            let first_new = spare.len() as NodeId;
            for c in self.children(old) {
                let id = spare.copy_node_from(self, c, new);
                queue.push((c, id));
            }
            spare.first_child[new as usize] = first_new;
        }
        std::mem::swap(self, spare);
        self.queue = queue;
    }

    fn copy_node_from(&mut self, src: &Tree, node: NodeId, parent: NodeId) -> NodeId {
        let i = node as usize;
        let id = self.push_node(parent, src.action[i], src.prior[i]);
        let j = id as usize;
        self.visits[j] = src.visits[i];
        self.value_sum[j] = src.value_sum[i];
        self.in_flight[j] = src.in_flight[i];
        self.num_children[j] = src.num_children[i];
        self.status[j] = src.status[i];
        self.net_value[j] = src.net_value[i];
        id
    }

    /// Checks the bookkeeping of a tree with nothing in flight: no virtual loss
    /// left, and every expanded node visited once for its own evaluation plus
    /// once per simulation through it (so no leaf was evaluated twice). Returns
    /// the number of expanded nodes.
    pub fn check_consistency(&self) -> Result<usize, String> {
        let mut expanded = 0;
        for n in 0..self.len() as NodeId {
            let i = n as usize;
            if self.in_flight[i] != 0 {
                return Err(format!(
                    "node {n}: {} virtual losses left",
                    self.in_flight[i]
                ));
            }
            match self.status[i] {
                NodeStatus::Pending => return Err(format!("node {n} still pending")),
                NodeStatus::Expanded => {
                    expanded += 1;
                    let below: u32 = self.children(n).map(|c| self.visits[c as usize]).sum();
                    if self.visits[i] != below + 1 {
                        return Err(format!(
                            "node {n}: {} visits but {below} below it + 1 for itself",
                            self.visits[i]
                        ));
                    }
                }
                NodeStatus::Unvisited | NodeStatus::Terminal => {
                    if self.num_children[i] != 0 {
                        return Err(format!("node {n}: children without expansion"));
                    }
                }
            }
        }
        Ok(expanded)
    }
}
