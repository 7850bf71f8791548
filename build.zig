//! Builds stau, its unit tests and the end-to-end test run.
//!
//!   zig build                        debug build with UB traps (zig-out/bin/stau; also
//!                                    share/man/man1/stau.1 and shell completions)
//!   zig build -Doptimize=ReleaseFast release build
//!   zig build -Dsanitize=true        debug build with full UBSan reports and AddressSanitizer
//!   zig build test                   unit tests, then end-to-end tests against the built binary
//!                                    (./setup.sh test runs this with -Dsanitize=true)
const std = @import("std");

const warnings = [_][]const u8{
    "-std=c11",   "-Wall",          "-Wextra",              "-Werror",
    "-Wshadow",   "-Wvla",          "-Wno-unused-parameter", "-Wstrict-prototypes",
    "-Wpointer-arith", "-Wmissing-prototypes", "-D_GNU_SOURCE",
};

pub fn build(b: *std.Build) !void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const sanitize = b.option(bool, "sanitize", "Debug build with UBSan reports and AddressSanitizer") orelse false;

    // The generated grammar is third-party code: always optimised, never
    // held to stau's warnings, and without UB traps (it relies on them not firing).
    const grammar = b.addLibrary(.{
        .name = "tree-sitter-python",
        .linkage = .static,
        .root_module = b.createModule(.{ .target = target, .optimize = .ReleaseFast, .link_libc = true, .sanitize_c = .off }),
    });
    grammar.root_module.addIncludePath(b.path("grammars/vendor"));
    grammar.root_module.addCSourceFiles(.{
        .root = b.path("grammars/vendor"),
        .files = &.{ "parser.c", "scanner.c" },
        .flags = &.{ "-std=c11", "-fno-sanitize=undefined", "-w" },
    });

    var flags = std.ArrayList([]const u8){};
    try flags.appendSlice(b.allocator, &warnings);
    // Debug and sanitized builds free everything before exiting, so leak checks see real leaks.
    if (optimize == .Debug or sanitize) try flags.append(b.allocator, "-DSTAU_FREE_AT_EXIT");
    if (sanitize) try flags.appendSlice(b.allocator, &.{ "-fsanitize=address", "-fno-omit-frame-pointer" });

    const sources = try listSources(b, "src");
    var lib_sources = std.ArrayList([]const u8){};
    for (sources) |s| if (!std.mem.eql(u8, s, "stau.c")) try lib_sources.append(b.allocator, s);

    const exe = b.addExecutable(.{ .name = "stau", .root_module = stauModule(b, target, optimize, sanitize) });
    addStauSources(b, exe, sources, flags.items, grammar, sanitize);
    b.installArtifact(exe);

    // The manual page and the shell completions, printed by the binary from the
    // same tables that parse its command line and print its --help.
    const generated = [_][2][]const u8{
        .{ "help --man", "share/man/man1/stau.1" },
        .{ "completion bash", "share/bash-completion/completions/stau" },
        .{ "completion zsh", "share/zsh/site-functions/_stau" },
    };
    for (generated) |g| {
        const print = b.addRunArtifact(exe);
        var words = std.mem.splitScalar(u8, g[0], ' ');
        while (words.next()) |w| print.addArg(w);
        b.getInstallStep().dependOn(&b.addInstallFile(print.captureStdOut(), g[1]).step);
    }

    const unit = b.addExecutable(.{ .name = "stau-unit", .root_module = stauModule(b, target, optimize, sanitize) });
    addStauSources(b, unit, lib_sources.items, flags.items, grammar, sanitize);
    unit.root_module.addIncludePath(b.path("src"));
    unit.root_module.addCSourceFiles(.{ .root = b.path("tests/unit"), .files = try listSources(b, "tests/unit"), .flags = flags.items });
    b.installArtifact(unit);

    // The benchmarks' drivers (tests/bench/*.sh run them): the same sources as the
    // unit binary, each with its own main. stau-bench-claim: claim throughput of a
    // state database (bench_pg.sh); stau-bench-chunks: planning a chunk graph, the
    // engine driven with fake processes and clocks (bench_chunks.sh);
    // stau-bench-work-done: the bulk read of work IDs' last successes
    // (bench_work_done.sh).
    const benches = [_][2][]const u8{
        .{ "stau-bench-claim", "bench_claim.c" },
        .{ "stau-bench-chunks", "bench_chunks.c" },
        .{ "stau-bench-work-done", "bench_work_done.c" },
    };
    for (benches) |bench| {
        const driver = b.addExecutable(.{ .name = bench[0], .root_module = stauModule(b, target, optimize, sanitize) });
        addStauSources(b, driver, lib_sources.items, flags.items, grammar, sanitize);
        driver.root_module.addIncludePath(b.path("src"));
        driver.root_module.addCSourceFiles(.{ .root = b.path("tests/bench"), .files = &.{bench[1]}, .flags = flags.items });
        b.installArtifact(driver);
    }

    // The fuzz harnesses (tests/fuzz/fuzz_*.c; tests/run.sh replays their corpora and
    // fuzzes each for a while), only with the sanitizers: stau-fuzz-NAME, each a
    // harness linked with tests/fuzz/driver.c, the coverage-guided driver standing
    // in for libFuzzer (which Zig does not ship). stau's sources once more, in one
    // library, with edge and comparison coverage for the driver to steer by.
    if (sanitize) {
        var fuzz_flags = std.ArrayList([]const u8){};
        try fuzz_flags.appendSlice(b.allocator, flags.items);
        try fuzz_flags.append(b.allocator, "-fsanitize-coverage=trace-pc-guard,trace-cmp");
        // A static library links nothing: only the libraries' include paths.
        var includes = std.mem.tokenizeAny(u8, b.run(&([_][]const u8{ "pkg-config", "--cflags-only-I" } ++ stau_libraries)), " \n");
        while (includes.next()) |dir| try fuzz_flags.append(b.allocator, dir);
        const fuzz_lib = b.addLibrary(.{
            .name = "stau-fuzz",
            .linkage = .static,
            .root_module = stauModule(b, target, optimize, sanitize),
        });
        fuzz_lib.root_module.addIncludePath(b.path("src"));
        fuzz_lib.root_module.addCSourceFiles(.{ .root = b.path("src"), .files = lib_sources.items, .flags = fuzz_flags.items });
        for (try listSources(b, "tests/fuzz")) |name| {
            if (!std.mem.startsWith(u8, name, "fuzz_") or std.mem.eql(u8, name, "fuzz_common.c")) continue;
            const harness = b.addExecutable(.{
                .name = b.fmt("stau-fuzz-{s}", .{name[5 .. name.len - 2]}),
                .root_module = stauModule(b, target, optimize, sanitize),
            });
            addStauSources(b, harness, &.{}, flags.items, grammar, sanitize);
            const m = harness.root_module;
            m.addIncludePath(b.path("src"));
            m.addCSourceFiles(.{ .root = b.path("tests/fuzz"), .files = &.{name}, .flags = fuzz_flags.items });
            m.addCSourceFiles(.{ .root = b.path("tests/fuzz"), .files = &.{ "driver.c", "fuzz_common.c" }, .flags = flags.items });
            m.linkLibrary(fuzz_lib);
            b.installArtifact(harness);
        }
    }

    // The whole suite: the unit binary, then the end-to-end tests on the real
    // binary; tests/run.sh prints the closing "N passed, N failed" line.
    const run_tests = b.addSystemCommand(&.{ "bash", "tests/run.sh" });
    run_tests.addArtifactArg(exe);
    run_tests.addArtifactArg(unit);
    run_tests.setCwd(b.path("."));
    run_tests.has_side_effects = true;
    run_tests.stdio = .inherit;
    const test_step = b.step("test", "Run unit and end-to-end tests");
    test_step.dependOn(&run_tests.step);
}

// The system libraries stau uses: pkg-config names, exactly (cgraph's include path
// depends on it).
const stau_libraries = [_][]const u8{ "tree-sitter", "libcgraph", "libarchive", "sqlite3", "libxxhash", "libpq" };

fn stauModule(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode, sanitize: bool) *std.Build.Module {
    return b.createModule(.{
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .sanitize_c = if (sanitize) .full else null,
        .omit_frame_pointer = if (sanitize) false else null,
    });
}

fn addStauSources(b: *std.Build, c: *std.Build.Step.Compile, files: []const []const u8, flags: []const []const u8, grammar: *std.Build.Step.Compile, sanitize: bool) void {
    const m = c.root_module;
    if (sanitize) {
        // Zig ships no ASan runtime; use the system compiler's, linked first
        // (the runtime insists on coming first in the library list), with the
        // .preinit_array entry gcc -fsanitize=address links in: without it ASan
        // starts at the first malloc, which is inside newlocale in libp11-kit's
        // constructor (through libpq), and its dlerror/gettext there breaks glibc's
        // locale lock (the exit then hangs in p11-kit's freelocale).
        m.addObjectFile(.{ .cwd_relative = asanRuntime(b, "libasan.so") });
        m.addObjectFile(.{ .cwd_relative = asanRuntime(b, "libasan_preinit.o") });
    }
    m.addCSourceFiles(.{ .root = b.path("src"), .files = files, .flags = flags });
    linkStauLibraries(m, grammar);
}

/// The libraries stau's sources use, with their include paths.
fn linkStauLibraries(m: *std.Build.Module, grammar: *std.Build.Step.Compile) void {
    m.linkLibrary(grammar);
    for (stau_libraries) |lib| m.linkSystemLibrary(lib, .{});
    m.linkSystemLibrary("pthread", .{});
}

fn asanRuntime(b: *std.Build, name: []const u8) []const u8 {
    const out = b.run(&.{ "cc", b.fmt("-print-file-name={s}", .{name}) });
    return std.mem.trim(u8, out, " \n");
}

fn listSources(b: *std.Build, dir_path: []const u8) ![]const []const u8 {
    var dir = try b.build_root.handle.openDir(dir_path, .{ .iterate = true });
    defer dir.close();
    var list = std.ArrayList([]const u8){};
    var it = dir.iterate();
    while (try it.next()) |entry| {
        if (entry.kind == .file and std.mem.endsWith(u8, entry.name, ".c"))
            try list.append(b.allocator, b.dupe(entry.name));
    }
    std.mem.sort([]const u8, list.items, {}, struct {
        fn lt(_: void, x: []const u8, y: []const u8) bool {
            return std.mem.lessThan(u8, x, y);
        }
    }.lt);
    return list.items;
}
