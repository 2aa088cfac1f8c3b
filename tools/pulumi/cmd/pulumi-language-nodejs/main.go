// Command pulumi-language-nodejs is a small stand-in for Pulumi's Node.js
// language host, written for this repository.
//
// Upstream's host lives in its own Go module,
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which
// has no release tags of its own and which the Go module proxy reachable here
// refuses to serve (403 "This module version is not available" for the
// version list and for every pseudo-version tried). So it cannot be built
// from the proxy. This stand-in speaks the same LanguageRuntime gRPC protocol
// (from github.com/pulumi/pulumi/sdk/v3, pinned by ../../go.mod) and does
// what `pulumi preview/up/destroy/refresh` need from a language host:
//
//   - print the port of its gRPC server on stdout, as every plugin does;
//   - Run: start `node <@pulumi/pulumi>/cmd/run` in the program directory
//     with the flags and environment the Node.js SDK's runner reads
//     (--monitor, --engine, --project, --stack, --pwd, --dry-run, ...,
//     PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT),
//     and map the runner's exit code 32 ("error already reported") to Bail;
//   - GetRequiredPackages: report the resource plugins that the packages in
//     node_modules declare in their package.json "pulumi" field;
//   - GetPluginInfo, Handshake, Cancel.
//
// It does not implement dependency installation, code generation, packing,
// linking, debugger attachment, bun, or the synchronous-invoke pipes (the
// Node.js SDK only needs those for the deprecated synchronous invokes);
// those calls answer Unimplemented, which the engine tolerates where it can.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// exitAfterReportedError is the Node.js runner's exit code for "the program
// failed and the user has already been shown why"
// (nodeJSProcessExitedAfterLoggingUserActionableMessage in cmd/run).
const exitAfterReportedError = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	cancelCtx     context.Context
	cancel        context.CancelFunc
}

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to the program")
	runtimeName := flag.String("runtime", "nodejs", "only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if *runtimeName != "nodejs" {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs (stand-in): unsupported runtime %q\n", *runtimeName)
		os.Exit(1)
	}
	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancelChannel)
	}()
	if engineAddress != "" {
		// Exit when the engine goes away, as upstream plugins do.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			fmt.Fprintf(os.Stderr, "could not start health check: %v\n", err)
			os.Exit(1)
		}
	}

	cancelCtx, cancel := context.WithCancel(context.Background())
	h := &host{engineAddress: engineAddress, tracing: *tracing, cancelCtx: cancelCtx, cancel: cancel}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "language host RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// packageJSON holds the parts of a package.json that this host reads.
type packageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// GetRequiredPackages lists the resource plugins declared by the packages
// installed in the node_modules folders from the program directory up to the
// root directory (npm's hoisted layout: top-level and @scope/ packages).
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return &pulumirpc.GetRequiredPackagesResponse{}, nil
	}
	seen := map[string]bool{}
	var packages []*pulumirpc.PackageDependency
	for _, dir := range moduleDirs(info.GetProgramDirectory(), info.GetRootDirectory()) {
		for _, pkgDir := range installedPackages(dir) {
			data, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
			if err != nil {
				continue
			}
			var pkg packageJSON
			if json.Unmarshal(data, &pkg) != nil || pkg.Pulumi == nil || !pkg.Pulumi.Resource {
				continue
			}
			name := pkg.Pulumi.Name
			if name == "" {
				name = strings.TrimPrefix(pkg.Name, "@pulumi/")
			}
			ver := pkg.Pulumi.Version
			if ver == "" {
				ver = pkg.Version
			}
			if !strings.HasPrefix(ver, "v") {
				ver = "v" + ver
			}
			key := name + "@" + ver
			if seen[key] {
				continue
			}
			seen[key] = true
			packages = append(packages, &pulumirpc.PackageDependency{
				Name: name, Kind: "resource", Version: ver, Server: pkg.Pulumi.Server,
			})
		}
	}
	sort.Slice(packages, func(i, j int) bool {
		return packages[i].Name+packages[i].Version < packages[j].Name+packages[j].Version
	})
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// moduleDirs returns the node_modules folders from programDir up to rootDir
// (or up to the file system root when rootDir is not an ancestor).
func moduleDirs(programDir, rootDir string) []string {
	var dirs []string
	dir := filepath.Clean(programDir)
	root := filepath.Clean(rootDir)
	for {
		nm := filepath.Join(dir, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			dirs = append(dirs, nm)
		}
		if dir == root {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return dirs
}

func installedPackages(nodeModules string) []string {
	entries, err := os.ReadDir(nodeModules)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(nodeModules, name)
		if strings.HasPrefix(name, "@") {
			scoped, err := os.ReadDir(full)
			if err != nil {
				continue
			}
			for _, s := range scoped {
				out = append(out, filepath.Join(full, s.Name()))
			}
			continue
		}
		out = append(out, full)
	}
	return out
}

// resolveRunner finds @pulumi/pulumi/cmd/run the way Node.js would from the
// program directory, so the program's own copy of the SDK runs it.
func resolveRunner(ctx context.Context, nodeBin, programDir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" && filepath.IsAbs(p) {
		return p, nil
	}
	mod := "@pulumi/pulumi/cmd/run"
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		mod = p
	}
	cmd := exec.CommandContext(ctx, nodeBin, "-e",
		"process.stdout.write(require.resolve(process.argv[1], { paths: [process.argv[2]] }))",
		mod, programDir)
	cmd.Dir = programDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("could not find %s from %s; is @pulumi/pulumi installed there? %v: %s",
			mod, programDir, err, strings.TrimSpace(stderr.String()))
	}
	return filepath.Dir(string(out)), nil
}

func nodeOptionsFrom(req *pulumirpc.RunRequest) (typescript bool, tsconfig, nodeargs string, err error) {
	typescript = true
	opts := req.GetInfo().GetOptions().AsMap()
	if v, ok := opts["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return false, "", "", errors.New("typescript option must be a boolean")
		}
		typescript = b
	}
	if v, ok := opts["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return false, "", "", errors.New("tsconfig option must be a string")
		}
		tsconfig = s
	}
	if v, ok := opts["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return false, "", "", errors.New("nodeargs option must be a string")
		}
		nodeargs = s
	}
	return typescript, tsconfig, nodeargs, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	entryPoint := info.GetEntryPoint()
	if programDir == "" {
		// Engines that predate ProgramInfo send pwd and program instead.
		programDir = req.GetPwd()
		entryPoint = req.GetProgram()
	}
	if entryPoint == "" {
		entryPoint = "."
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := resolveRunner(ctx, nodeBin, programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	typescript, tsconfig, nodeargs, err := nodeOptionsFrom(req)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	// The runner still reads config keys in the old "<namespace>:config:<name>"
	// form as well as the new one; upstream's host sends the old form.
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	h.mu.Lock()
	engineAddress := h.engineAddress
	h.mu.Unlock()

	var args []string
	if nodeargs != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, runPath)
	add := func(flagName, value string) {
		if value != "" {
			args = append(args, "--"+flagName, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", info.GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	args = append(args, entryPoint)
	args = append(args, req.GetArgs()...)

	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(cfgJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
	)
	if typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}

	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	stopOnRequestEnd := context.AfterFunc(ctx, cmdCancel)
	defer stopOnRequestEnd()
	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Dir = programDir
	cmd.Env = env
	// Node may switch its stdio to non-blocking mode, so never hand it our
	// own file descriptors: copy through pipes instead.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			switch code := exitErr.ExitCode(); code {
			case exitAfterReportedError:
				return &pulumirpc.RunResponse{Bail: true}, nil
			default:
				return &pulumirpc.RunResponse{
					Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code),
				}, nil
			}
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
