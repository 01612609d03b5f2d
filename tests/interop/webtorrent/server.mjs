// Starts webtorrent's bittorrent-tracker (npm, pinned in package-lock.json) on loopback only, for
// tests/interop_webtorrent.rs. The IPv4 sockets bind port 0; the IPv6 ones (::1) then bind the port
// their IPv4 sibling got, so `localhost:PORT` reaches the same tracker over both families (the
// dual-stack tests). The ports are printed as one JSON line on stdout once all are listening. The
// test stops the process by its id (and starts it again if a ::1 port was taken).
// `node server.mjs --tls CERT KEY` also serves the tracker over HTTPS (Node's `https`) on 127.0.0.1
// with that certificate chain and key (PEM files), and prints its port as `https`.
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import Server from 'bittorrent-tracker/server'

const server = new Server({ udp: true, http: true, ws: false, stats: false })
server.on('error', (err) => { console.error(`tracker error: ${err.message}`); process.exit(1) })
server.on('warning', (err) => { console.error(`tracker warning: ${err.message}`) })

// The package's HTTP server binds one address; a second one on ::1 serves the same swarms.
const http6 = http.createServer((req, res) => server.onHttpRequest(req, res))
http6.on('error', (err) => { console.error(`http6 error: ${err.message}`); process.exit(1) })

const tls = process.argv.indexOf('--tls')
const secure = tls < 0
  ? null
  : https.createServer(
    { cert: fs.readFileSync(process.argv[tls + 1]), key: fs.readFileSync(process.argv[tls + 2]) },
    (req, res) => server.onHttpRequest(req, res))
secure?.on('error', (err) => { console.error(`https error: ${err.message}`); process.exit(1) })

// The package binds its IPv6 UDP socket right after the IPv4 one, to the same requested port (0):
// hold that bind until the IPv4 socket has its port, and bind ::1 to the same one.
const bindUdp6 = server.udp6.bind.bind(server.udp6)
server.udp6.bind = (_port, host) =>
  server.udp4.once('listening', () => bindUdp6(server.udp4.address().port, host))

server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => {
  http6.listen(server.http.address().port, '::1', () => {
    const ports = {
      http: server.http.address().port,
      http6: http6.address().port,
      udp: server.udp4.address().port,
      udp6: server.udp6.address().port
    }
    if (!secure) return console.log(JSON.stringify(ports))
    secure.listen(0, '127.0.0.1', () => {
      ports.https = secure.address().port
      console.log(JSON.stringify(ports))
    })
  })
})
