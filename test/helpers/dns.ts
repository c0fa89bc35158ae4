// DNS over a real UDP socket for tests.
import dgram from 'node:dgram';

/** Sends raw bytes over UDP; resolves with the raw reply, or null when none comes in time. */
export function udpRaw(port: number, msg: Buffer, waitMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

// Decoded questions over UDP and TCP (one connection, several questions).
import net from 'node:net';
import dnsPacket, { type DecodedPacket } from 'dns-packet';

/** dns-packet decodes the rcode too; its types leave it out. */
export type DnsReply = DecodedPacket & { rcode: string };

const question = (name: string, type: string): Buffer =>
  dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65535), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });

export async function dnsUdp(port: number, name: string, type: string): Promise<DnsReply> {
  const raw = await udpRaw(port, question(name, type));
  if (!raw) throw new Error('no DNS answer');
  return dnsPacket.decode(raw) as DnsReply;
}

export function dnsTcp(port: number, name: string, type: string): Promise<DnsReply> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    c.on('error', reject);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        c.end();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as DnsReply);
      }
    });
    const q = question(name, type);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    c.write(Buffer.concat([len, q]));
  });
}
