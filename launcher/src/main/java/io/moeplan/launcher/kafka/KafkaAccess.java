package io.moeplan.launcher.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
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
   * KafkaSecurity#acls()} (adding an existing ACL changes nothing), and revokes what an earlier run
   * granted to tenants no longer listed: the credentials of moeplan's users that {@code security}
   * no longer has, and every ACL of a moeplan user that {@link KafkaSecurity#acls()} does not hold.
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
      }
      List<UserScramCredentialAlteration> revoked = new ArrayList<>();
      for (var entry : known.entrySet()) {
        String user = entry.getKey();
        if (KafkaSecurity.managedUser(user) && !security.users().contains(user)) {
          for (ScramCredentialInfo info : entry.getValue().credentialInfos()) {
            revoked.add(new UserScramCredentialDeletion(user, info.mechanism()));
          }
        }
      }
      if (!revoked.isEmpty()) {
        admin.alterUserScramCredentials(revoked).all().get(BOUND_SECONDS, TimeUnit.SECONDS);
        LOG.info("revoked the SCRAM credentials of {} user(s) no longer listed", revoked.size());
      }
      if (!missing.isEmpty() || !revoked.isEmpty()) {
        awaitUsers(admin, security);
      }
      var acls = security.acls();
      List<AclBindingFilter> stale = new ArrayList<>();
      for (AclBinding binding :
          admin.describeAcls(AclBindingFilter.ANY).values().get(BOUND_SECONDS, TimeUnit.SECONDS)) {
        String principal = binding.entry().principal();
        if (principal.startsWith("User:")
            && KafkaSecurity.managedUser(principal.substring("User:".length()))
            && !acls.contains(binding)) {
          stale.add(binding.toFilter());
        }
      }
      if (!stale.isEmpty()) {
        admin.deleteAcls(stale).all().get(BOUND_SECONDS, TimeUnit.SECONDS);
        LOG.info("removed {} ACL(s) no longer granted", stale.size());
      }
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
      if (applied.containsAll(acls) && acls.containsAll(managed(applied))) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("ACLs not applied after " + BOUND_SECONDS + " s");
      }
      Thread.sleep(20);
    }
  }

  /** The bindings of moeplan's users among {@code bindings}. */
  private static List<AclBinding> managed(Collection<AclBinding> bindings) {
    List<AclBinding> out = new ArrayList<>();
    for (AclBinding binding : bindings) {
      String principal = binding.entry().principal();
      if (principal.startsWith("User:")
          && KafkaSecurity.managedUser(principal.substring("User:".length()))) {
        out.add(binding);
      }
    }
    return out;
  }

  private static void awaitUsers(Admin admin, KafkaSecurity security)
      throws ExecutionException, TimeoutException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
    while (true) {
      var known = admin.describeUserScramCredentials().all().get(BOUND_SECONDS, TimeUnit.SECONDS);
      if (known.keySet().containsAll(security.users())
          && known.keySet().stream()
              .filter(KafkaSecurity::managedUser)
              .allMatch(security.users()::contains)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("SCRAM users not as listed after " + BOUND_SECONDS + " s");
      }
      Thread.sleep(50);
    }
  }
}
