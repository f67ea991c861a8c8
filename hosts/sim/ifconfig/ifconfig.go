// Package ifconfig is `ifconfig` in the dom0 of a simulated XenServer 6.x
// host, whose dom0 is CentOS 5 with net-tools 1.60: the report of an
// interface in net-tools 1.60's format (`inet addr:A  Bcast:B  Mask:M`),
// which scripts of that era parse (devstack's Havana tools/xen/functions
// xenapi_ip_on: `ifconfig xenbr0 | grep "inet addr" | cut -d ":" -f2`).
// Later releases' dom0 (CentOS 7, net-tools 2.0) print the format this
// machine's net-tools prints (`inet A  netmask M  broadcast B`), so only a
// 6.x host gets this command (hosts/sim, startDom0Services).
//
// The format was read from net-tools 1.60's lib/interface.c
// (ife_print_long) and ifconfig.c (the arguments: none lists the
// interfaces that are up, -a all, NAME that one). An interface is read
// where the command runs, in dom0's network namespace: its addresses and
// flags through the kernel (SIOCGIFFLAGS, SIOCGIFBRDADDR, SIOCGIFTXQLEN),
// its counters from /proc/net/dev. Anything else (setting an address,
// up/down) goes to this machine's ifconfig unchanged.
package ifconfig

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Name is the program name this package answers to.
const Name = "ifconfig"

func init() {
	// syscall.Exit, not os.Exit, as dom0's xe (a race-enabled binary
	// sleeps a second in os.Exit).
	if filepath.Base(os.Args[0]) == Name {
		syscall.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// Main runs ifconfig with args and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	all := false
	var names []string
	for _, a := range args {
		switch {
		case a == "-a":
			all = true
		case strings.HasPrefix(a, "-") || len(names) > 0:
			return system(args, stdout, stderr)
		default:
			names = append(names, a)
		}
	}
	if len(names) == 1 {
		ifi, err := net.InterfaceByName(names[0])
		if err != nil {
			// ifconfig.c: if_print's "error fetching interface information".
			fmt.Fprintf(stderr, "%s: error fetching interface information: Device not found\n", names[0])
			return 1
		}
		report(stdout, ifi, counters())
		return 0
	}
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Fprintf(stderr, "ifconfig: %v\n", err)
		return 1
	}
	stats := counters()
	for i := range ifs {
		if all || ifs[i].Flags&net.FlagUp != 0 {
			report(stdout, &ifs[i], stats)
		}
	}
	return 0
}

// system runs this machine's ifconfig with args (what this one does not
// model: setting an interface).
func system(args []string, stdout, stderr io.Writer) int {
	for _, p := range []string{"/sbin/ifconfig", "/usr/sbin/ifconfig", "/bin/ifconfig"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		cmd := exec.Command(p, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			fmt.Fprintf(stderr, "ifconfig: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "ifconfig: setting an interface needs net-tools' ifconfig, which this machine lacks\n")
	return 1
}

// stat is one interface's line of /proc/net/dev.
type stat struct {
	rxBytes, rxPackets, rxErrs, rxDrop, rxFIFO, rxFrame            uint64
	txBytes, txPackets, txErrs, txDrop, txFIFO, txColls, txCarrier uint64
}

// counters reads /proc/net/dev, which is the reading process's network
// namespace's.
func counters() map[string]stat {
	m := map[string]stat{}
	f, err := os.Open("/proc/net/dev")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) < 16 {
			continue
		}
		v := make([]uint64, 16)
		for i := range v {
			v[i], _ = strconv.ParseUint(fs[i], 10, 64)
		}
		// receive: bytes packets errs drop fifo frame compressed multicast;
		// transmit: bytes packets errs drop fifo colls carrier compressed.
		m[strings.TrimSpace(name)] = stat{v[0], v[1], v[2], v[3], v[4], v[5], v[8], v[9], v[10], v[11], v[12], v[13], v[14]}
	}
	return m
}

// Linux's interface flags (IFF_*, <linux/if.h>) and ioctls.
const (
	iffUp, iffBroadcast, iffDebug, iffLoopback, iffPointopoint   = 0x1, 0x2, 0x4, 0x8, 0x10
	iffNotrailers, iffRunning, iffNoarp, iffPromisc, iffAllmulti = 0x20, 0x40, 0x80, 0x100, 0x200
	iffMaster, iffSlave, iffMulticast, iffDynamic                = 0x400, 0x800, 0x1000, 0x8000

	siocgifflags, siocgifbrdaddr, siocgiftxqlen = 0x8913, 0x8919, 0x8942
)

// ifreq is struct ifreq: a name, then a union of 24 bytes.
type ifreq struct {
	name [16]byte
	data [24]byte
}

// ioctl asks the kernel about the interface name; nil where it cannot.
func ioctl(name string, req uintptr) *ifreq {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	var r ifreq
	copy(r.name[:15], name)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&r))); e != 0 {
		return nil
	}
	return &r
}

// report writes one interface as net-tools 1.60's ife_print_long does.
func report(w io.Writer, ifi *net.Interface, stats map[string]stat) {
	flags := 0
	if r := ioctl(ifi.Name, siocgifflags); r != nil {
		flags = int(r.data[0]) | int(r.data[1])<<8
	} else {
		for _, f := range []struct {
			n net.Flags
			v int
		}{{net.FlagUp, iffUp}, {net.FlagBroadcast, iffBroadcast}, {net.FlagLoopback, iffLoopback},
			{net.FlagPointToPoint, iffPointopoint}, {net.FlagMulticast, iffMulticast}, {net.FlagRunning, iffRunning}} {
			if ifi.Flags&f.n != 0 {
				flags |= f.v
			}
		}
	}
	b := &strings.Builder{}
	if flags&iffLoopback != 0 {
		fmt.Fprintf(b, "%-9.9s Link encap:Local Loopback  \n", ifi.Name)
	} else if len(ifi.HardwareAddr) == 6 {
		fmt.Fprintf(b, "%-9.9s Link encap:Ethernet  HWaddr %s  \n", ifi.Name, strings.ToUpper(ifi.HardwareAddr.String()))
	} else {
		fmt.Fprintf(b, "%-9.9s Link encap:UNSPEC  \n", ifi.Name)
	}
	addrs, _ := ifi.Addrs()
	var v6 []*net.IPNet
	v4done := false
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if n.IP.To4() == nil {
			v6 = append(v6, n)
			continue
		}
		if v4done { // 1.60 shows the interface's (first) address only
			continue
		}
		v4done = true
		fmt.Fprintf(b, "          inet addr:%s ", n.IP.To4())
		if flags&iffBroadcast != 0 {
			brd := net.IPv4zero
			if r := ioctl(ifi.Name, siocgifbrdaddr); r != nil { // struct sockaddr_in: family, port, address
				brd = net.IPv4(r.data[4], r.data[5], r.data[6], r.data[7])
			}
			fmt.Fprintf(b, " Bcast:%s ", brd.To4())
		}
		fmt.Fprintf(b, " Mask:%s\n", net.IP(n.Mask).To4())
	}
	for _, n := range v6 {
		ones, _ := n.Mask.Size()
		scope := "Global"
		switch {
		case n.IP.IsLoopback():
			scope = "Host"
		case n.IP.IsLinkLocalUnicast():
			scope = "Link"
		}
		fmt.Fprintf(b, "          inet6 addr: %s/%d Scope:%s\n", n.IP, ones, scope)
	}
	b.WriteString("          ")
	if flags == 0 {
		b.WriteString("[NO FLAGS] ")
	}
	for _, f := range []struct {
		v    int
		name string
	}{{iffUp, "UP"}, {iffBroadcast, "BROADCAST"}, {iffDebug, "DEBUG"}, {iffLoopback, "LOOPBACK"}, {iffPointopoint, "POINTOPOINT"},
		{iffNotrailers, "NOTRAILERS"}, {iffRunning, "RUNNING"}, {iffNoarp, "NOARP"}, {iffPromisc, "PROMISC"}, {iffAllmulti, "ALLMULTI"},
		{iffSlave, "SLAVE"}, {iffMaster, "MASTER"}, {iffMulticast, "MULTICAST"}, {iffDynamic, "DYNAMIC"}} {
		if flags&f.v != 0 {
			b.WriteString(f.name + " ")
		}
	}
	fmt.Fprintf(b, " MTU:%d  Metric:1\n", ifi.MTU)
	s := stats[ifi.Name]
	fmt.Fprintf(b, "          RX packets:%d errors:%d dropped:%d overruns:%d frame:%d\n", s.rxPackets, s.rxErrs, s.rxDrop, s.rxFIFO, s.rxFrame)
	fmt.Fprintf(b, "          TX packets:%d errors:%d dropped:%d overruns:%d carrier:%d\n", s.txPackets, s.txErrs, s.txDrop, s.txFIFO, s.txCarrier)
	txqlen := 0
	if r := ioctl(ifi.Name, siocgiftxqlen); r != nil {
		txqlen = int(int32(uint32(r.data[0]) | uint32(r.data[1])<<8 | uint32(r.data[2])<<16 | uint32(r.data[3])<<24))
	}
	fmt.Fprintf(b, "          collisions:%d txqueuelen:%d \n", s.txColls, txqlen)
	fmt.Fprintf(b, "          RX bytes:%d (%s)  TX bytes:%d (%s)\n\n", s.rxBytes, human(s.rxBytes), s.txBytes, human(s.txBytes))
	io.WriteString(w, b.String())
}

// human is 1.60's short form of a byte count: one decimal, binary units,
// "b" below a KiB.
func human(n uint64) string {
	short, unit := n*10, "b"
	for _, u := range []struct {
		over uint64
		name string
	}{{1 << 50, "PiB"}, {1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n > u.over {
			short, unit = short/u.over, u.name
			break
		}
	}
	return fmt.Sprintf("%d.%d %s", short/10, short%10, unit)
}
