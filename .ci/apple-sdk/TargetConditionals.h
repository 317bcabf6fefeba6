/* The one macOS SDK header ring's C code needs when CI checks the macOS
 * targets from Linux (`cargo check --target *-apple-darwin`, no SDK here):
 * it only says which Apple OS this is. ring is built in its own
 * no-sysroot mode (-nostdlibinc -DRING_CORE_NOSTDLIBINC); nothing is linked. */
#ifndef WGZERO_CI_TARGET_CONDITIONALS_H
#define WGZERO_CI_TARGET_CONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#endif
