package io.moeplan.launcher.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sets up a secured broker's users and ACLs through its super user. */
public final class KafkaAccess {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaAccess.class);
  private static final long BOUND_SECONDS = 30;
  private static final int ITERATIONS = 4096;

  private KafkaAccess() {}

  /**
   * Creates the SCRAM credential of every user of {@code security} the broker does not know yet
   * (those of tenants added after the storage was formatted) and every ACL of {@link
   * KafkaSecurity#acls()} (adding an existing ACL changes nothing).
   */
  public static void grant(Admin admin, KafkaSecurity security, String bootstrapServers) {
    try {
      Map<String, UserScramCredentialsDescription> known =
          admin.describeUserScramCredentials().all().get(BOUND_SECONDS, TimeUnit.SECONDS);
      List<UserScramCredentialAlteration> missing = new ArrayList<>();
      for (String user : security.users()) {
        if (!known.containsKey(user)) {
          missing.add(
              new UserScramCredentialUpsertion(
                  user,
                  new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS),
                  security.password(user)));
        }
      }
      if (!missing.isEmpty()) {
        admin.alterUserScramCredentials(missing).all().get(BOUND_SECONDS, TimeUnit.SECONDS);
        awaitUsers(admin, security);
      }
      var acls = security.acls();
      admin.createAcls(acls).all().get(BOUND_SECONDS, TimeUnit.SECONDS);
      awaitAcls(admin, acls);
      LOG.info(
          "secured broker {}: {} SCRAM users, {} ACLs, client settings in {}",
          bootstrapServers,
          security.users().size(),
          acls.size(),
          security.directory());
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot set up the users and ACLs of the secured broker " + bootstrapServers, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while setting up users and ACLs", e);
    }
  }

  /**
   * Waits until the broker's authorizer applies every ACL (the controller commits them first; a
   * client right after would be refused).
   */
  private static void awaitAcls(Admin admin, List<AclBinding> acls)
      throws ExecutionException, TimeoutException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
    while (true) {
      var applied =
          admin.describeAcls(AclBindingFilter.ANY).values().get(BOUND_SECONDS, TimeUnit.SECONDS);
      if (applied.containsAll(acls)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("ACLs not applied after " + BOUND_SECONDS + " s");
      }
      Thread.sleep(20);
    }
  }

  private static void awaitUsers(Admin admin, KafkaSecurity security)
      throws ExecutionException, TimeoutException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
    while (true) {
      var known = admin.describeUserScramCredentials().all().get(BOUND_SECONDS, TimeUnit.SECONDS);
      if (known.keySet().containsAll(security.users())) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("SCRAM users not visible after " + BOUND_SECONDS + " s");
      }
      Thread.sleep(50);
    }
  }
}
