package cityhub;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * An embedded Neo4j DBMS serving Bolt on 127.0.0.1.
 *
 * <p>Usage: {@code java -cp target/classes:target/lib/* cityhub.Neo4jLauncher HOME PORT}. Prints
 * "cityhub-neo4j ready on bolt://127.0.0.1:PORT" once Bolt accepts connections, and shuts the
 * DBMS down cleanly on SIGTERM. Authentication is off: the port is bound to loopback only.
 */
public final class Neo4jLauncher {
    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            System.err.println("usage: Neo4jLauncher HOME PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(10))
                // The hub swaps a whole graph in one transaction: bounded by the heap alone.
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, 0L)
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }));
        // Touch the default database so it is online before we say so.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        System.out.println("cityhub-neo4j ready on bolt://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }
}
