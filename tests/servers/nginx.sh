#!/bin/sh
# A throw-away nginx on 127.0.0.1 for tests and benchmarks, as the calling user.
#
#   tests/servers/nginx.sh start DIR    serve DIR/www; prints "HTTP_PORT HTTPS_PORT"
#   tests/servers/nginx.sh stop DIR
#
# start makes, in DIR: a test CA (ca.pem) and a server certificate it signed
# for the name "localhost" only (so https://127.0.0.1:PORT/ fails the host
# name check), a second CA that signed nothing (wrong-ca.pem), the config,
# logs/access.log (one line per request: URI status body_bytes_sent "Range"),
# logs/error.log and nginx.pid.  Ports are chosen at start time.
# NGINX_LIMIT_RATE (e.g. 2m) limits the rate of each response.  A test may
# add its own directives in DIR/conf.d/http-*.conf (http block: a map) and
# DIR/conf.d/server-*.conf (both servers: a location), written before start.
set -eu
cmd=${1:?usage: nginx.sh start|stop DIR}
dir=${2:?usage: nginx.sh start|stop DIR}
here=$(cd "$(dirname "$0")" && pwd)

make_certs() {
	[ -f "$dir/ca.pem" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mambaboot test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mambaboot wrong CA" \
		-keyout "$dir/wrong-ca.key" -out "$dir/wrong-ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

write_conf() { # http_port https_port
	user=
	[ "$(id -u)" -eq 0 ] && user="user $(id -un) $(id -gn);"
	rate=${NGINX_LIMIT_RATE:-0}
	cat > "$dir/nginx.conf" <<CONF
$user
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 512; }
http {
	types { application/octet-stream bin; }
	default_type application/octet-stream;
	log_format mb '\$request_uri \$status \$body_bytes_sent "\$http_range"';
	access_log $dir/logs/access.log mb;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000;
	limit_rate $rate;
	include $dir/conf.d/http-*.conf;
	server {
		listen 127.0.0.1:$1;
		root $dir/www;
		include $dir/conf.d/server-*.conf;
	}
	server {
		listen 127.0.0.1:$2 ssl;
		ssl_certificate $dir/server.pem;
		ssl_certificate_key $dir/server.key;
		root $dir/www;
		include $dir/conf.d/server-*.conf;
	}
}
CONF
}

start() {
	mkdir -p "$dir/www" "$dir/logs" "$dir/tmp" "$dir/conf.d"
	make_certs
	for try in 1 2 3 4 5; do
		ports=$(python3 "$here/freeport.py" 2)
		write_conf $ports
		if nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>>"$dir/logs/start.log"; then
			echo "$ports"
			return 0
		fi
	done
	echo "nginx.sh: nginx did not start; see $dir/logs" >&2
	cat "$dir/logs/start.log" >&2
	return 1
}

stop() {
	[ -f "$dir/nginx.pid" ] || return 0
	pid=$(cat "$dir/nginx.pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	rm -f "$dir/nginx.pid"
}

case $cmd in
start) start ;;
stop) stop ;;
*) echo "usage: nginx.sh start|stop DIR" >&2; exit 2 ;;
esac
