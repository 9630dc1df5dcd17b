import socket
import select
import sys
import json

# Basic logging configuration
import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)


class ChatRoomP2PClient:

    def __init__(self, ServerIP: str, ServerPort: int, ClientIP: str, P2PPort: int, ReceiveBufferSize: int = 2048):
        self.ServerIP = ServerIP
        self.ServerPort = ServerPort
        self.ClientIP = ClientIP
        self.P2PPort = P2PPort
        self.ReceiveBufferSize = ReceiveBufferSize
        # Create TCP and UDP sockets
        self.client_socket_TCP= socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.client_socket_TCP.settimeout(2)
        self.client_socket_UDP = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client_socket_UDP.settimeout(2)
        # bind the UDP socket to the client's IP and P2P port
        self.client_socket_UDP.bind((self.ClientIP, self.P2PPort))
        # set the UDP socket to reuse the address
        self.client_socket_UDP.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.list_of_sockets = [sys.stdin, self.client_socket_TCP, self.client_socket_UDP]
        self.p2p_peers = {} # {name: ip}
    
        # Connect to the chat server using the TCP socket
        try:
            self.client_socket_TCP.connect((self.ServerIP, self.ServerPort))
        except Exception as err:
            logger.error("Unable to connect to the server. Error message : %s" % err)
            sys.exit()

        logger.info("Connected to the chat server. IP: %s, Port: %s.\n To exit the chatroom type ':q'\n To list all online users type ':l'\n To send a p2p message type '@username: message' " % (self.ServerIP, self.ServerPort))

    # function to change the list of peers received from the server to the dictionary
    def update_peers(self, peers):
        self.p2p_peers = {peer[0]: peer[1] for peer in peers}


    def run(self):
        while True:
            read_sockets, write_sockets, error_sockets = select.select(self.list_of_sockets, [], [])
            for sock in read_sockets:

                # Incoming message from remote server
                if sock == self.client_socket_TCP:
                    # Receive data from the server
                    data = sock.recv(self.ReceiveBufferSize)
                    # empty string means the server has closed the connection
                    if not data:
                        logger.info("Disconnected from chat server")
                        sys.exit()
                    else:
                        data = data.decode()
                        # check if the data is json
                        data = data.strip()
                        if data[0] == '[':
                            data = json.loads(data)
                            # update the list of peers using the update_peers() function
                            self.update_peers(data)

                        else:
                            print("\r[Server] " + data )
                            print ("\r[Me]", end = " ", flush = True)

                # Incoming message from UDP socket
                elif sock == self.client_socket_UDP:
                    # Receive data from a peer (p2p)
                    data, addr = sock.recvfrom(self.ReceiveBufferSize)
                    data = data.decode()
                    peer_IP_address = addr[0]
                    peer_username = [username for username, ip in self.p2p_peers.items() if ip == peer_IP_address][0]
                    print ("\r[P2P] %s (IP: %s) says: %s" % (peer_username, peer_IP_address, data))
                    print ("\r[Me]", end = " ", flush = True)

                # User entered a message
                else:
                    msg = sys.stdin.readline()
                    msg = msg.strip()
                    # check if empty message
                    if not msg:
                        print ("\r[Me]", end = " ", flush = True)
                        continue
                    # check if the user wants to exit
                    elif msg == ':q':
                        self.client_socket_TCP.close()
                        sys.exit()
                    elif msg == ':l':
                        peers = list(self.p2p_peers.keys())
                        print ("\rOnline peers: %s" % peers)
                    # check if the user wants to send a p2p message
                    elif msg[0] == '@':
                        username = msg[1:msg.find(':')]
                        msg = msg[msg.find(':')+1:]
                        if username in self.p2p_peers.keys():
                            peer_IP_address = self.p2p_peers[username]
                            try:
                                # send the message to the peer (p2p)
                                self.client_socket_UDP.sendto(msg.encode(), (peer_IP_address, self.P2PPort))
                            except Exception as err:
                                logger.error("Unable to send p2p message to %s. Error message : %s" % (username, err))
                        else:
                            print ("\rUser (%s) not found" % username)

                    # broadcast message to all connected clients (through the server) 
                    else:
                        try:
                            msg = msg.encode()
                            # send the message to the server
                            self.client_socket_TCP.send(msg)
                        except Exception as err:
                            logger.error("Unable to send message to the server. Error message : %s" % err)
                            sys.exit()

                    print("\r[Me]", end = " ", flush = True)


if __name__ == "__main__":
    # get the server IP address (DO NOT WRITE THE IP ADDRESS DIRECTLY IN THE CODE)
    ServerIP = socket.gethostbyname("team30.com")
    ServerPort = 5000
    MaxReceiveBufferSize = 2048
    # get the client IP address (DO NOT WRITE THE IP ADDRESS DIRECTLY IN THE CODE)
    ClientIP = socket.gethostbyname(socket.gethostname())
    # set the client's P2P port
    P2PPort = 6000
    client = ChatRoomP2PClient(ServerIP, ServerPort, ClientIP, P2PPort, MaxReceiveBufferSize)
    # run the client
    client.run()
