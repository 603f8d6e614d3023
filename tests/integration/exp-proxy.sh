#!/usr/bin/env bash
. "$(dirname "$0")/lib.sh"
it_init "$@"
IT_LABELS[1000]="app: web"
IT_LABELS[1001]="app: client"
it_endpoint web 11 1000
it_endpoint client 21 1001
it_servers
st=$(it_state s1 <<'Y'
policies:
  - name: web-in
    endpointSelector: {matchLabels: {app: web}}
    ingress:
      - fromEndpoints: [{matchLabels: {app: client}}]
        toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15001}]
      - fromEndpoints: [{matchLabels: {app: client}}]
        toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
  - name: client-out
    endpointSelector: {matchLabels: {app: client}}
    egress:
      - toEndpoints: [{matchLabels: {app: web}}]
        toPorts: [{ports: [{port: 8080, protocol: TCP}], proxyPort: 15002}]
      - toEndpoints: [{matchLabels: {app: web}}]
Y
)
it_apply "$st"
ip rule add fwmark 0xa00/0xf00 lookup 100 pref 81
ip route add local 0.0.0.0/0 dev lo table 100
ip -6 rule add fwmark 0xa00/0xf00 lookup 100 pref 81
ip -6 route add local ::/0 dev lo table 100
it_spawn px "$IT_PY" "$IT_DIR/tproxy.py" --port 15001 --log $IT_WORK/px.log --ready $IT_WORK/px.ready
sleep 1
ss -ltnp | grep 1500
ip rule; ip route show table 100
tcpdump -ni lxc-web -c 20 -w $IT_WORK/web.pcap 2>/dev/null &
tdp=$!
tcpdump -ni lxc-client -c 20 -w $IT_WORK/cl.pcap 2>/dev/null &
tdc=$!
sleep 0.5
printf 'c web v4 10.1.0.11 tcp/80\nc web v6 fd00:1::11 tcp/80\nc web v4 10.1.0.11 tcp/8080\nc web v4 10.1.0.11 udp/80\n' | it_in ${IT_PID[client]} "$IT_PY" "$IT_PROBE" client --timeout 2
cat $IT_WORK/px.log; ss -tanp | grep -v LISTEN; kill $tdp $tdc; sleep 0.3; echo CLIENT; tcpdump -nr $IT_WORK/cl.pcap 2>/dev/null | grep -v "ARP\|ICMP6"| head; echo WEB; tcpdump -nr $IT_WORK/web.pcap 2>/dev/null | head -20; nstat -az | grep -i -E "martian|InNoRoutes|TCPReq|ListenDrop|InErrs|Drop" | awk '$2 != 0' 
"$IT_SLUICE" status | sed -n '/drops/,$p' | head -30
